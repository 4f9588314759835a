import FloeCore
import FloeSpeaker
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One speaker output of a mount: a `SpeakerEngine` (jitter buffer, clock, sink) fed with the blocks of the mount
/// it plays now.
///
/// A `MountOutput`: it belongs to its home mount, follows that mount's listeners to a fallback and back, and is
/// told when a source ends with nothing to take over. The mount hands it every published block (one hop per
/// block, not per frame).
final class Speaker: MountOutput {
    let home: Mount
    let engine: SpeakerEngine
    var configuration: SpeakerOutputConfiguration { engine.configuration }
    /// For RTP outputs: what the SDP announces.
    var sessionDescription: SessionDescription? { engine.sessionDescription }
    let placement = MountOutputPlacement()

    init(
        home: Mount,
        configuration: SpeakerOutputConfiguration,
        eventLoop: EventLoop,
        logger: Logger,
        metrics: ServerMetrics?,
        streamName: String? = nil,
        hostname: String = "localhost"
    ) {
        self.home = home
        engine = SpeakerEngine(
            mount: home.path,
            configuration: configuration,
            eventLoop: eventLoop,
            logger: logger,
            counters: metrics?.speakerCounters(mount: home.path, output: configuration.name),
            streamName: streamName,
            hostname: hostname
        )
    }

    /// What the output is doing, for status pages.
    var status: SpeakerStatus { engine.status }

    /// Sets `floe_speaker_playing` from the status now (when `/metrics` is read).
    func recordPlayingGauge() {
        engine.recordPlayingGauge()
    }

    /// Takes the frames of a block the mount published.
    func receive(_ block: StreamBlock, from mount: Mount) {
        engine.receive(block.bytes, frames: block.frames)
    }

    /// The source ended and nothing took over: what is buffered plays out, then the output stops.
    func endOfSource() {
        engine.endOfSource()
    }

    /// The engine's clock and buffer bridge a change of mount by themselves.
    func followsAnotherMount() {}

    /// Stops for good (the output was removed from the configuration, or the server stops). The future completes
    /// once the sink has closed (a sound device has played out what it was given).
    @discardableResult
    func close() -> EventLoopFuture<Void> {
        detachForGood()
        return engine.close()
    }
}
