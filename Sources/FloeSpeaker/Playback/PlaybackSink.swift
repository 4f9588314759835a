import FloeCodec
import FloeCore
import Logging
import NIOCore

/// A speaker output played on a sound device: frames decoded with libmpg123, played with libout123.
final class PlaybackSink: SpeakerSink {
    let clockRate: Int
    /// Audio reaches the device this far ahead of its time, so the device never starves between two frames.
    let lead: Duration = .milliseconds(100)
    private let decoder: MPEGDecoder?
    private let device: AudioDevice
    private var counters = SpeakerSinkReport()
    private var decoderProblem: String?

    init(output: PlaybackOutput, logger: Logger) {
        clockRate = output.sampleRate
        do {
            decoder = try MPEGDecoder(sampleRate: output.sampleRate, channels: output.channels)
        } catch {
            decoder = nil
            decoderProblem = "\(error)"
        }
        device = AudioDevice(
            driver: output.driver,
            device: output.device,
            sampleRate: output.sampleRate,
            channels: output.channels,
            logger: logger
        )
    }

    var report: SpeakerSinkReport {
        var report = counters
        report.problem = decoderProblem ?? device.problem
        return report
    }

    func play(_ frame: SpeakerFrame, position: Int64, startsTalkspurt: Bool) {
        guard let pcm = decoder?.decode(frame.bytes, sampleRate: frame.sampleRate), !pcm.isEmpty else { return }
        counters.bytesSent += pcm.count * 2
        device.play(pcm)
    }

    func playSilence(position: Int64, length: Int64) {
        let count = Int(length) * device.channels
        counters.bytesSent += count * 2
        device.play([Int16](repeating: 0, count: count))
    }

    func stop() {
        device.stop()
        decoder?.reset()
    }

    func close(done: EventLoopPromise<Void>) {
        device.shutdown { done.succeed() }
    }
}
