import FloeCodec
import FloeTestSupport
import MPEGAudio
import NIOCore
import Testing

/// libmpg123 → LAME, frame by frame, as a transcoded mount runs it.
@Suite("MP3 transcoder")
struct MP3TranscoderTests {
    static func transcode(_ streams: [[UInt8]], with transcoder: MP3Transcoder) throws -> [UInt8] {
        var output: [UInt8] = []
        for stream in streams {
            for (offset, frame) in MPEGFrameSynchronizer.frames(in: stream) where frame.kind == .audio {
                output += try transcoder.transcode(ByteBuffer(bytes: stream[offset..<(offset + frame.length)]))
            }
        }
        return output + transcoder.restart()
    }

    @Test func aChangeOfInputRateRestartsTheEncoderCleanly() throws {
        // The output follows the input's rate: 44.1 kHz, then 48 kHz. No frame may mix the two.
        let transcoder = MP3Transcoder(settings: .init(sampleRate: nil, channels: 1, mode: .cbr(kbps: 64), quality: 5))
        let output = try Self.transcode([SineMP3.make(seconds: 2), SineMP3.make(seconds: 2, sampleRate: 48_000)], with: transcoder)
        let rates = MPEGFrameSynchronizer.frames(in: output).map(\.frame.header.sampleRate)
        #expect(transcoder.restarts == 1)
        // 44.1 kHz frames, then 48 kHz frames, each run about two seconds of 1152-sample frames.
        let first = rates.prefix { $0 == 44_100 }.count
        #expect(first >= 70 && first <= 80)
        #expect(rates.dropFirst(first).allSatisfy { $0 == 48_000 })
        #expect(rates.count - first >= 78)
    }

    @Test(arguments: [MP3Encoder.Mode.cbr(kbps: 32), .vbr(level: 4), .abr(kbps: 96)])
    func everyModeGivesFramesOfTheAskedFormat(mode: MP3Encoder.Mode) throws {
        let transcoder = MP3Transcoder(settings: .init(sampleRate: 22_050, channels: 2, mode: mode, quality: 7))
        let output = try Self.transcode([SineMP3.make(seconds: 3)], with: transcoder)
        let headers = MPEGFrameSynchronizer.frames(in: output).map(\.frame.header)
        #expect(headers.count > 100)
        #expect(headers.allSatisfy { $0.sampleRate == 22_050 && $0.channelCount == 2 })
        if case .cbr(let kbps) = mode { #expect(headers.allSatisfy { $0.bitrate == kbps * 1000 }) }
    }
}
