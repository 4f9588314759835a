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

    /// An upstream sending a byte at a time of near-matches (the tail is 1,023 zero bytes and a one; the stream
    /// all zeros, then the tail): each byte is looked at once, whatever the pieces, and the tail is still found.
    @Test func theSearchIsLinearWhateverThePiecesAndFindsATailSplitAcrossThem() {
        let tail = [UInt8](repeating: 0, count: 1023) + [1]
        var aligner = StreamAligner(tail: tail)
        let zeros = [UInt8](repeating: 0, count: 60_000)
        for byte in zeros { #expect(aligner.receive(ByteBuffer(bytes: [byte])) == .holding) }
        #expect(aligner.searchSteps <= 2 * zeros.count, "\(aligner.searchSteps) steps for \(zeros.count) bytes")
        #expect(aligner.receive(ByteBuffer(bytes: [1, 7, 8])) == .aligned(ByteBuffer(bytes: [7, 8]), skipped: zeros.count + 1))
        // A tail cut across pieces of every size is found where it ends.
        let published = Array(stream[..<12_000])
        for piece in [1, 3, 1000] {
            var aligner = StreamAligner(tail: Array(published.suffix(1024)))
            let burst = Array(stream[8_000..<16_000])
            var outcome = StreamAligner.Outcome.holding
            var offset = 0
            while outcome == .holding, offset < burst.count {
                outcome = aligner.receive(ByteBuffer(bytes: burst[offset..<min(offset + piece, burst.count)]))
                offset += piece
            }
            let expectedRest = Array(burst[4_000..<min(offset, burst.count)])
            #expect(outcome == .aligned(ByteBuffer(bytes: expectedRest), skipped: 4_000), "pieces of \(piece)")
        }
    }

    @Test func nothingPublishedMeansNothingToSkip() {
        var aligner = StreamAligner(tail: [])
        #expect(aligner.receive(ByteBuffer(bytes: stream[..<100])) == .gaveUp(ByteBuffer(bytes: stream[..<100])))
    }
}
