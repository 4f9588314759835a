import FloeCore
import FloeTestSupport
import MPEGAudio
import NIOCore
import Testing

@Suite("Source ingest")
struct SourceIngestTests {
    static let mp3 = SineMP3.make(seconds: 3)

    /// Feeds `bytes` in reads of `readSize` and collects the published blocks.
    func ingest(_ bytes: [UInt8], readSize: Int) -> (blocks: [SourceIngest.Output], ingest: SourceIngest) {
        var ingest = SourceIngest(format: .mpeg)
        var blocks: [SourceIngest.Output] = []
        var offset = 0
        var now = NIODeadline.uptimeNanoseconds(0)
        while offset < bytes.count {
            let end = min(offset + readSize, bytes.count)
            blocks += ingest.receive(ByteBuffer(bytes: bytes[offset..<end]), at: now)
            offset = end
            now = now + .milliseconds(1)
        }
        blocks += ingest.finish(at: now)
        return (blocks, ingest)
    }

    @Test(arguments: [1, 417, 4096, 100_000])
    func cleanStreamComesOutByteForByteInFrameAlignedBlocks(readSize: Int) throws {
        let (blocks, ingest) = ingest(Self.mp3, readSize: readSize)
        let joined = blocks.flatMap { Array($0.bytes.readableBytesView) }
        #expect(sameBytes(joined, Self.mp3))
        let frameStarts = Set(MPEGFrameSynchronizer.frames(in: Self.mp3).map(\.offset))
        var offset = 0
        for block in blocks {
            #expect(frameStarts.contains(offset), "block at \(offset) does not start on a frame")
            #expect(block.frames.first?.offset == 0)
            offset += block.bytes.readableBytes
        }
        #expect(ingest.framing.garbageBytes == 0)
        // About `blockDuration` (500 ms) of media per block: at least that, and less than one frame more.
        for block in blocks.dropLast() {
            let media = block.frames.reduce(Duration.zero) { $0 + $1.duration }
            #expect(media >= .milliseconds(500) && media < .milliseconds(527))
        }
    }

    @Test func garbageIsDroppedAndCountedAndFramesSurvive() throws {
        let garbage = [UInt8](repeating: 0x41, count: 1000)
        let frames = MPEGFrameSynchronizer.frames(in: Self.mp3)
        let cut = frames[20].offset
        let stream = Array(Self.mp3[..<cut]) + garbage + Array(Self.mp3[cut...])
        let (blocks, ingest) = ingest(stream, readSize: 1500)
        #expect(sameBytes(blocks.flatMap { Array($0.bytes.readableBytesView) }, Self.mp3))
        #expect(ingest.framing.garbageBytes == 1000)
    }

    @Test func clockMeasuresTheEncodedBitrate() throws {
        let (_, ingest) = ingest(Self.mp3, readSize: 4096)
        let bitrate = try #require(ingest.clock.measuredBitrate)
        #expect(abs(bitrate - 128_000) < 1500)
        #expect(abs(ingest.clock.mediaTime.seconds - 3.0) < 0.06)
    }

    @Test func passthroughKeepsBytesAsTheyCame() {
        var ingest = SourceIngest(format: StreamFormat(contentType: "audio/x-opus"))
        var out: [UInt8] = []
        let data = (0..<10_000).map { UInt8($0 % 251) }
        for chunk in stride(from: 0, to: data.count, by: 700) {
            for block in ingest.receive(ByteBuffer(bytes: data[chunk..<min(chunk + 700, data.count)]), at: .uptimeNanoseconds(0)) {
                out += block.bytes.readableBytesView
            }
        }
        for block in ingest.finish(at: .uptimeNanoseconds(0)) { out += block.bytes.readableBytesView }
        #expect(sameBytes(out, data))
        #expect(!ingest.format.allowsICYMetadata)
    }

    @Test func framesWithoutPlayTimeCannotGrowABlockForever() throws {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, stereo: 417-byte frames; "Xing" after the 32-byte side info.
        var frame = [UInt8](repeating: 0, count: 417)
        frame[0...3] = [0xFF, 0xFB, 0x90, 0x64]
        frame[36...39] = Array("Xing".utf8)[...]
        var ingest = SourceIngest(format: .mpeg)
        var published = 0
        for _ in 0..<2000 {  // 834 KB of frames that play for no time at all
            published += ingest.receive(ByteBuffer(bytes: frame), at: .uptimeNanoseconds(0)).count
        }
        #expect(published >= 3, "blocks are cut at SourceIngest.maximumBlockBytes")
        #expect(ingest.clock.mediaTime == .zero)
    }
}
