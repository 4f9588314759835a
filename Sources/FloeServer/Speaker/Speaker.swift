import FloeCore
import FloeSpeaker
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One speaker output of a mount: a `SpeakerEngine` (jitter buffer, clock, sink) fed with the blocks of the mount
/// it plays now.
///
/// A speaker belongs to its home mount, follows that mount's listeners to a fallback and back, and is told when a
/// source ends with nothing to take over. The mount hands it every published block (one hop per block, not per
/// frame).
final class Speaker: Sendable {
    /// The mount the output is configured on. Mounts live as long as the server, so the reference is kept.
    let home: Mount
    var homePath: String { home.path }
    let engine: SpeakerEngine
    var configuration: SpeakerOutputConfiguration { engine.configuration }
    /// For RTP outputs: what the SDP announces.
    var sessionDescription: SessionDescription? { engine.sessionDescription }
    /// The mount feeding the speaker now (`nil` before `start()` and after `close()`). Its lock is taken before any
    /// mount's speaker lock, never after: moves between mounts are atomic, and a closed speaker stays detached.
    private let location = NIOLockedValueBox<(mount: Mount?, closed: Bool)>((nil, false))

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

    /// The mount it plays now: its own, a fallback, or `nil` once closed.
    var currentMountPath: String? { location.withLockedValue { $0.mount?.path } }

    /// Starts taking its home mount's blocks.
    func start() {
        location.withLockedValue { location in
            guard location.mount == nil, !location.closed else { return }
            home.attach(self)
            location.mount = home
        }
    }

    /// Moves from `source` to `destination`, if the speaker is still fed by `source`; returns whether it moved.
    @discardableResult
    func move(from source: Mount, to destination: Mount, withLastBlock: Bool) -> Bool {
        location.withLockedValue { location in
            guard location.mount === source else { return false }
            source.detach(self)
            destination.attach(self, withLastBlock: withLastBlock)
            location.mount = destination
            return true
        }
    }

    /// After a move to `fallback`, decided on `fallback.isLive` a moment ago: if the home mount's source came back
    /// meanwhile (its reclaim ran before the move), go home; if the fallback lost its source meanwhile (its own
    /// hand-over listed its speakers before this one arrived), go home and end. Either change runs its own
    /// speaker step after changing the mount's state, so between the two, one of them sees the speaker.
    func settle(after fallback: Mount) {
        if home.isLive {
            move(from: fallback, to: home, withLastBlock: false)
        } else if !fallback.isLive, move(from: fallback, to: home, withLastBlock: false) {
            endOfSource()
        }
    }

    /// Takes the frames of a block the mount published.
    func receive(_ block: StreamBlock) {
        engine.receive(block.bytes, frames: block.frames)
    }

    /// The source ended and nothing took over: what is buffered plays out, then the output stops.
    func endOfSource() {
        engine.endOfSource()
    }

    /// Stops for good (the output was removed from the configuration, or the server stops). The future completes
    /// once the sink has closed (a sound device has played out what it was given).
    @discardableResult
    func close() -> EventLoopFuture<Void> {
        location.withLockedValue { location in
            location.mount?.detach(self)
            location = (nil, true)
        }
        return engine.close()
    }
}
