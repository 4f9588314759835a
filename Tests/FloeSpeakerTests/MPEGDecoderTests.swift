import FloeCodec
import FloeCore
import FloeTestSupport
import MPEGAudio
import NIOCore
import Testing

@testable import FloeSpeaker

/// libmpg123 fed one frame at a time, as the speaker feeds it.
@Suite("MPEG decoder")
struct MPEGDecoderTests {
    /// libmpg123 confirms the first frame with the next one's header; from then on each frame comes out as it
    /// goes in, and nothing is held back at the end.
    @Test func framesDecodeToTheirFullLengthWithOnlyTheFirstHeldForTheSecond() throws {
        let mp3 = SineMP3.make(seconds: 2)
        let frames = MPEGFrameSynchronizer.frames(in: mp3)
        let decoder = try MPEGDecoder(sampleRate: 44_100, channels: 2)
        var counts: [Int] = []
        for frame in frames {
            let bytes = ByteBuffer(bytes: mp3[frame.offset..<(frame.offset + frame.frame.length)])
            counts.append(decoder.decode(bytes, sampleRate: 44_100).count)
        }
        #expect(counts[0] == 0 && counts[1] == 2 * 2304)
        #expect(counts.dropFirst(2).allSatisfy { $0 == 2304 }, "1152 stereo samples per frame")
        #expect(counts.reduce(0, +) == frames.count * 2304, "every frame decoded: \(counts.suffix(3))")
        // After a reset (the source ended) the next stream starts afresh, its first frame again held.
        decoder.reset()
        let first = frames[0]
        #expect(decoder.decode(ByteBuffer(bytes: mp3[first.offset..<(first.offset + first.frame.length)]), sampleRate: 44_100).isEmpty)
    }
}
