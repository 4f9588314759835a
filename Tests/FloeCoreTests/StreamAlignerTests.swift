import FloeCore
import NIOCore
import Testing

@Suite("Stream aligner")
struct StreamAlignerTests {
    private let stream = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }

    /// A burst that repeats the last published bytes: the stream goes on right after them, even when the tail
    /// straddles two reads.
    @Test func aBurstRepeatingWhatWasPublishedIsSkipped() {
        let published = Array(stream[..<12_000])
        var aligner = StreamAligner(tail: Array(published.suffix(1024)))
        let burst = Array(stream[8_000..<16_000])
        #expect(aligner.receive(ByteBuffer(bytes: burst[..<3_500])) == .holding)
        let outcome = aligner.receive(ByteBuffer(bytes: burst[3_500...]))
        #expect(outcome == .aligned(ByteBuffer(bytes: stream[12_000..<16_000]), skipped: 4_000))
    }

    @Test func anotherStreamIsPassedOnWholeAtTheLimitOrWhenReleased() {
        var aligner = StreamAligner(tail: Array(stream[..<1024]), maximumBytes: 4_000)
        let other = [UInt8](repeating: 0x55, count: 3_000)
        #expect(aligner.receive(ByteBuffer(bytes: other)) == .holding)
        #expect(aligner.receive(ByteBuffer(bytes: other)) == .gaveUp(ByteBuffer(bytes: other + other)))

        var waiting = StreamAligner(tail: Array(stream[..<1024]))
        _ = waiting.receive(ByteBuffer(bytes: other))
        #expect(waiting.release() == .gaveUp(ByteBuffer(bytes: other)))
    }

    @Test func nothingPublishedMeansNothingToSkip() {
        var aligner = StreamAligner(tail: [])
        #expect(aligner.receive(ByteBuffer(bytes: stream[..<100])) == .gaveUp(ByteBuffer(bytes: stream[..<100])))
    }
}
