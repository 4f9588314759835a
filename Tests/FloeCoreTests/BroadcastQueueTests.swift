import FloeCore
import NIOCore
import Testing

@Suite("Broadcast queue")
struct BroadcastQueueTests {
    func block(_ sequence: Int, size: Int) -> StreamBlock {
        StreamBlock(sequence: sequence, bytes: ByteBuffer(repeating: UInt8(sequence % 256), count: size), metadata: .empty)
    }

    @Test func releasesOldestBlocksBeyondCapacity() {
        var queue = BroadcastQueue(capacity: .bytes(1000))
        for sequence in 0..<5 { queue.append(block(sequence, size: 300)) }
        #expect(queue.firstSequence == 2)
        #expect(queue.endSequence == 5)
        #expect(queue.byteCount == 900)
        #expect(queue.block(1) == nil)
        #expect(queue.block(4)?.bytes.readableBytes == 300)
    }

    @Test func alwaysKeepsTheNewestBlockEvenIfItAloneExceedsCapacity() {
        var queue = BroadcastQueue(capacity: .bytes(100))
        queue.append(block(0, size: 50))
        queue.append(block(1, size: 500))
        #expect(queue.firstSequence == 1)
        #expect(queue.block(1) != nil)
    }

    @Test(arguments: [(0, 10), (1, 9), (250, 9), (251, 8), (1000, 6), (10_000, 6)])
    func burstStartsAtTheNewestBlockGivingAtLeastTheBurst(burst: Int, expected: Int) {
        var queue = BroadcastQueue(capacity: .bytes(1000))
        for sequence in 0..<10 { queue.append(block(sequence, size: 250)) }
        // Holds blocks 6...9.
        #expect(queue.burstStart(.bytes(burst)) == expected)
    }

    /// Blocks of whole frames at 64 kbit/s and at 320 kbit/s: the same play time is a different number of bytes.
    func framedBlock(_ sequence: Int, frames: Int, frameBytes: Int) -> StreamBlock {
        let spans = (0..<frames).map { FrameSpan(offset: $0 * frameBytes, length: frameBytes, mediaTime: .zero, duration: .milliseconds(26)) }
        return StreamBlock(sequence: sequence, bytes: ByteBuffer(repeating: 0, count: frames * frameBytes), metadata: .empty, frames: spans)
    }

    @Test(arguments: [208, 1044])
    func aDurationBurstAndQueueAreThePlayTimeWhateverTheBitrate(frameBytes: Int) {
        // 20 blocks of 19 frames (0.494 s each), kept for 4 s: 8 blocks (3.95 s) and the newest.
        var queue = BroadcastQueue(capacity: .duration(.seconds(4)))
        for sequence in 0..<20 { queue.append(framedBlock(sequence, frames: 19, frameBytes: frameBytes)) }
        #expect(queue.firstSequence == 12)
        #expect(queue.playTime == .milliseconds(26 * 19 * 8))
        // A 2 s burst is the newest 5 blocks (2.47 s) at either bitrate; 0 s is the live edge.
        #expect(queue.burstStart(.duration(.seconds(2))) == 15)
        #expect(queue.burstStart(.duration(.zero)) == 20)
        #expect(queue.burstStart(.duration(.seconds(60))) == 12)
    }

    @Test func unframedBlocksArePlayTimeAtTheDeclaredByteRate() {
        var queue = BroadcastQueue(capacity: .duration(.seconds(2)), unframedBytesPerSecond: 16_000)
        for sequence in 0..<10 { queue.append(block(sequence, size: 8_000)) }
        // Half a second each: four blocks make 2 s.
        #expect(queue.firstSequence == 6)
        #expect(queue.burstStart(.duration(.seconds(1))) == 8)
    }

    /// Blocks whose timestamps say they take no time (a hostile Ogg or WebM source) cannot grow a queue sized in
    /// seconds without bound: it holds at most 4 MiB per second of it (found by review).
    @Test func blocksWithoutPlayTimeAreBoundedByBytes() {
        var queue = BroadcastQueue(capacity: .duration(.seconds(2)))
        for sequence in 0..<40 {
            var timeless = block(sequence, size: 1 << 20)
            timeless.mediaDuration = .zero
            queue.append(timeless)
        }
        #expect(queue.byteCount <= 2 * BroadcastQueue.maximumBytesPerSecond)
        #expect(queue.byteCount > 2 * BroadcastQueue.maximumBytesPerSecond - (1 << 20))
        #expect(Duration.seconds(Int64.max).nanoseconds == .max, "media time saturates rather than trap")
    }

    @Test func theMountsOwnSettingWinsAndADurationWinsAtOneLevel() {
        #expect(StreamAmount.resolve(mountDuration: nil, mountBytes: nil, globalDuration: nil, globalBytes: 65_536) == .bytes(65_536))
        #expect(StreamAmount.resolve(mountDuration: nil, mountBytes: nil, globalDuration: 3, globalBytes: 65_536) == .duration(.seconds(3)))
        #expect(StreamAmount.resolve(mountDuration: nil, mountBytes: 8_192, globalDuration: 3, globalBytes: 65_536) == .bytes(8_192))
        #expect(StreamAmount.resolve(mountDuration: 1.5, mountBytes: 8_192, globalDuration: 3, globalBytes: 65_536) == .duration(.milliseconds(1500)))
    }

    @Test func sharedBlocksAreNotCopied() {
        var queue = BroadcastQueue(capacity: .bytes(10_000))
        let original = block(0, size: 100)
        queue.append(original)
        let stored = queue.block(0)!.bytes
        let same = original.bytes.withUnsafeReadableBytes { a in stored.withUnsafeReadableBytes { b in a.baseAddress == b.baseAddress } }
        #expect(same)
    }

    @Test func removeAllStartsAfresh() {
        var queue = BroadcastQueue(capacity: .bytes(10_000))
        queue.append(block(0, size: 10))
        queue.removeAll()
        #expect(queue.isEmpty)
        queue.append(block(7, size: 10))
        #expect(queue.firstSequence == 7)
    }
}
