import ArgumentParser
import FloeCore
import FloeServer
import Foundation
import Logging

/// `floe play URL-or-mount`: local playback of a stream, through the speaker's path (jitter buffer, frame clock,
/// libmpg123, libout123).
struct Play: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a stream (a URL, or a mount of the local server) on the sound device or into a file.",
        discussion: """
            Examples:
              floe play http://radio.example.org:8000/live
              floe play /live                                   # http://127.0.0.1:8000/live
              floe play /live --driver wav --device live.wav    # no sound card: record what would play
            """
    )

    @Argument(help: "An http:// or https:// URL, or a mount path of the server on --host and --port.")
    var target: String

    @Option(help: "Server for a mount path.")
    var host = "127.0.0.1"

    @Option(help: "Port for a mount path.")
    var port = 8000

    @Option(help: "libout123 driver: alsa, pulse, oss, … or the file outputs wav, raw, au (default: out123's choice).")
    var driver: String?

    @Option(help: "Device for the driver, or the file for wav, raw and au.")
    var device: String?

    @Option(help: "Sample rate to play at; other rates are resampled.")
    var rate = 44100

    @Option(help: "Channels to play (1 or 2); others are mixed.")
    var channels = 2

    @Option(name: .customLong("jitter-buffer"), help: "Seconds each frame waits after arriving, to absorb network jitter.")
    var jitterBuffer = 0.5

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Option(name: .customLong("ca-file"), help: "For https: a PEM file of CA certificates to trust besides the system's.")
    var caFile: String?

    func validate() throws {
        guard (1...2).contains(channels) else { throw ValidationError("--channels must be 1 or 2") }
        guard (8000...192_000).contains(rate) else { throw ValidationError("--rate must be from 8000 to 192000") }
        guard (0...10).contains(jitterBuffer) else { throw ValidationError("--jitter-buffer must be 0 to 10 seconds") }
    }

    func run() async throws {
        var logger = Logger(label: "floe.play")
        logger.logLevel = logLevel
        let url = target.hasPrefix("/") ? "http://\(host):\(port)\(target)" : target
        let output = SpeakerOutputConfiguration(
            name: "play",
            kind: .playback(PlaybackOutput(driver: driver, device: device, sampleRate: rate, channels: channels)),
            jitterBuffer: jitterBuffer,
            maximumBuffer: 10,
            gaps: .silence
        )
        do {
            try await StreamPlayer(url: url, output: output, logger: logger, caFile: caFile).play()
        } catch {
            FileHandle.standardError.write(Data("floe play: cannot play \(url): \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
