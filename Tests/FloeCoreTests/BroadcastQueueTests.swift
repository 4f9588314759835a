import FloeCore
import NIOCore
import Testing

@Suite("Broadcast queue")
struct BroadcastQueueTests {
    func block(_ sequence: Int, size: Int) -> StreamBlock {
        StreamBlock(sequence: sequence, bytes: ByteBuffer(repeating: UInt8(sequence % 256), count: size), metadata: .empty)
    }

    @Test func releasesOldestBlocksBeyondCapacity() {
        var queue = BroadcastQueue(capacityBytes: 1000)
        for sequence in 0..<5 { queue.append(block(sequence, size: 300)) }
        #expect(queue.firstSequence == 2)
        #expect(queue.endSequence == 5)
        #expect(queue.byteCount == 900)
        #expect(queue.block(1) == nil)
        #expect(queue.block(4)?.bytes.readableBytes == 300)
    }

    @Test func alwaysKeepsTheNewestBlockEvenIfItAloneExceedsCapacity() {
        var queue = BroadcastQueue(capacityBytes: 100)
        queue.append(block(0, size: 50))
        queue.append(block(1, size: 500))
        #expect(queue.firstSequence == 1)
        #expect(queue.block(1) != nil)
    }

    @Test(arguments: [(0, 10), (1, 9), (250, 9), (251, 8), (1000, 6), (10_000, 6)])
    func burstStartsAtTheNewestBlockGivingAtLeastTheBurst(burst: Int, expected: Int) {
        var queue = BroadcastQueue(capacityBytes: 1000)
        for sequence in 0..<10 { queue.append(block(sequence, size: 250)) }
        // Holds blocks 6...9.
        #expect(queue.burstStart(burstBytes: burst) == expected)
    }

    @Test func sharedBlocksAreNotCopied() {
        var queue = BroadcastQueue(capacityBytes: 10_000)
        let original = block(0, size: 100)
        queue.append(original)
        let stored = queue.block(0)!.bytes
        let same = original.bytes.withUnsafeReadableBytes { a in stored.withUnsafeReadableBytes { b in a.baseAddress == b.baseAddress } }
        #expect(same)
    }

    @Test func removeAllStartsAfresh() {
        var queue = BroadcastQueue(capacityBytes: 10_000)
        queue.append(block(0, size: 10))
        queue.removeAll()
        #expect(queue.isEmpty)
        queue.append(block(7, size: 10))
        #expect(queue.firstSequence == 7)
    }
}
