import FloeCore

/// A speaker output's figures, for status and the admin API.
package struct SpeakerStatus: Sendable, Equatable {
    package var mount: String
    package var name: String
    /// `rtp`, `playback` or `fec`.
    package var type: String
    /// `mpa`/`l16` for RTP; the driver for playback.
    package var mode: String
    /// `address:port` for RTP; the device (or file) for playback.
    package var destination: String
    /// The schedule's state (`idle`, `buffering`, `playing`, `gap`), or `closed`.
    package var state = SpeakerSchedule.State.idle.rawValue
    package var framesPlayed = 0
    package var framesDropped = 0
    package var underruns = 0
    package var bufferedSeconds = 0.0
    package var packetsSent = 0
    package var bytesSent = 0
    package var sendErrors = 0
    package var problem: String?

    package init(mount: String, configuration: SpeakerOutputConfiguration) {
        self.mount = mount
        name = configuration.name
        switch configuration.kind {
        case .rtp(let output):
            type = "rtp"
            mode = output.mode.rawValue
            destination = "\(output.address):\(output.port)"
        case .playback(let output):
            type = "playback"
            mode = output.driver ?? "default"
            destination = output.device ?? "default"
        case .fec(let output):
            type = "fec"
            mode = output.code
            destination = "\(output.address):\(output.port)"
        }
    }
}
