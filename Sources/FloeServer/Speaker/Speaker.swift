import FloeCore
import Logging
import MPEGAudio
import NIOConcurrencyHelpers
import NIOCore

/// One speaker output of a mount, running on one event loop: frames in from the mount, through the jitter buffer
/// and the speaker's clock (`SpeakerSchedule`), out to a sink (RTP or a sound device).
///
/// The mount hands it every published block (one hop per block, not per frame); the speaker then releases frames
/// one by one from a timer at their due time. A speaker belongs to its home mount, follows that mount's listeners
/// to a fallback and back, and is told when a source ends with nothing to take over.
final class Speaker: Sendable {
    /// The mount the output is configured on. Mounts live as long as the server, so the reference is kept.
    let home: Mount
    var homePath: String { home.path }
    let configuration: SpeakerOutputConfiguration
    let eventLoop: EventLoop
    /// For RTP outputs: what the SDP announces.
    let sessionDescription: SessionDescription?
    private let core: NIOLoopBoundBox<Core>
    private let statusBox: NIOLockedValueBox<SpeakerStatus>
    /// The output's series in `/metrics` (none for `floe play`).
    private let counters: SpeakerCounters?
    /// The mount feeding the speaker now (`nil` before `start()` and after `close()`). Its lock is taken before any
    /// mount's speaker lock, never after: moves between mounts are atomic, and a closed speaker stays detached.
    private let location = NIOLockedValueBox<(mount: Mount?, closed: Bool)>((nil, false))

    /// The schedule, the sink and the timer, confined to `eventLoop`.
    private final class Core {
        var schedule: SpeakerSchedule
        let sink: any SpeakerSink
        var timer: (deadline: NIODeadline, task: Scheduled<Void>)?
        var closed = false
        /// Called each time the output stops (the source ended and everything played).
        var stopHandlers: [() -> Void] = []
        let counters: SpeakerCounters?
        var reported = SpeakerSinkReport()
        var reportedUnderruns = 0
        var reportedDrops = 0
        var lastState = SpeakerSchedule.State.idle

        init(schedule: SpeakerSchedule, sink: any SpeakerSink, counters: SpeakerCounters?) {
            self.schedule = schedule
            self.sink = sink
            self.counters = counters
        }
    }

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
        let homePath = home.path
        self.configuration = configuration
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "mount.path"] = "\(homePath)"
        logger[metadataKey: "output"] = "\(configuration.name)"
        let sink: any SpeakerSink
        switch configuration.kind {
        case .rtp(let output):
            let sender = RTPSender(output: output, eventLoop: eventLoop, logger: logger)
            sessionDescription = SessionDescription(
                name: streamName ?? "Floe \(homePath)",
                address: output.address,
                port: output.port,
                multicastTTL: output.isMulticast ? output.ttl : nil,
                payloadType: sender.payloadType,
                encoding: sender.encoding,
                sessionID: sender.ssrc,
                origin: hostname
            )
            sink = sender
        case .playback(let output):
            sink = PlaybackSink(output: output, logger: logger)
            sessionDescription = nil
        case .fec(let output):
            sink = FECSender(output: output, eventLoop: eventLoop, logger: logger)
            sessionDescription = nil
        }
        let schedule = SpeakerSchedule(
            settings: .init(
                clockRate: sink.clockRate,
                jitterBuffer: .nanoseconds(Int64(configuration.jitterBuffer * 1e9)),
                maximumBuffer: .nanoseconds(Int64(configuration.maximumBuffer * 1e9)),
                gaps: configuration.gaps,
                lead: sink.lead
            )
        )
        let counters = metrics?.speakerCounters(mount: homePath, output: configuration.name)
        self.counters = counters
        core = NIOLoopBoundBox.makeBoxSendingValue(
            Core(schedule: schedule, sink: sink, counters: counters),
            eventLoop: eventLoop
        )
        statusBox = NIOLockedValueBox(SpeakerStatus(mount: homePath, configuration: configuration))
        eventLoop.execute { [core] in core.value.sink.prepare() }
    }

    /// What the output is doing, for status pages.
    var status: SpeakerStatus { statusBox.withLockedValue { $0 } }

    /// Sets `floe_speaker_playing` from the status now (when `/metrics` is read).
    func recordPlayingGauge() {
        counters?.playing.record(status.state == SpeakerSchedule.State.playing.rawValue ? 1 : 0)
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

    /// Takes the frames of a block the mount published. Unframed formats (Ogg, AAC) carry no frames and play
    /// nothing; Xing/Info frames carry no audio and are skipped.
    func receive(_ block: StreamBlock) {
        guard !block.frames.isEmpty else { return }
        eventLoop.execute { [self] in
            guard !core.value.closed else { return }
            let now = NIODeadline.now()
            for span in block.frames where span.duration > .zero {
                guard let frame = Self.frame(span, in: block.bytes) else { continue }
                core.value.schedule.enqueue(frame, at: now)
            }
            run()
        }
    }

    /// The source ended and nothing took over: what is buffered plays out, then the output stops.
    func endOfSource() {
        eventLoop.execute { [self] in
            core.value.schedule.endOfSource()
            run()
        }
    }

    /// Stops for good (the output was removed from the configuration, or the server stops). The future completes
    /// once the sink has closed (a sound device has played out what it was given).
    @discardableResult
    func close() -> EventLoopFuture<Void> {
        location.withLockedValue { location in
            location.mount?.detach(self)
            location = (nil, true)
        }
        let done = eventLoop.makePromise(of: Void.self)
        eventLoop.execute { [self] in
            guard !core.value.closed else { return done.succeed() }
            core.value.closed = true
            core.value.timer?.task.cancel()
            core.value.timer = nil
            core.value.sink.close(done: done)
            statusBox.withLockedValue { $0.state = "closed" }
        }
        return done.futureResult
    }

    /// Calls `handler` (on the speaker's loop) each time the output stops after its source ended.
    func onStop(_ handler: @escaping @Sendable () -> Void) {
        eventLoop.execute { [self] in core.value.stopHandlers.append(handler) }
    }

    private static func frame(_ span: FrameSpan, in bytes: ByteBuffer) -> SpeakerFrame? {
        guard let slice = bytes.getSlice(at: bytes.readerIndex + span.offset, length: span.length),
            let b = slice.getBytes(at: slice.readerIndex, length: 4),
            let header = MPEGFrameHeader(b[0], b[1], b[2], b[3])
        else { return nil }
        return SpeakerFrame(bytes: slice, samples: header.samplesPerFrame, sampleRate: header.sampleRate)
    }

    /// Carries out the schedule's actions until it waits, then arms the timer for when it wants to be called.
    private func run() {
        let core = self.core.value
        guard !core.closed else { return }
        var played = 0
        loop: while true {
            switch core.schedule.nextAction(at: .now()) {
            case .play(let frame, let position, let startsTalkspurt):
                core.sink.play(frame, position: position, startsTalkspurt: startsTalkspurt)
                played += 1
            case .silence(let position, let length):
                core.sink.playSilence(position: position, length: length)
            case .stop:
                core.sink.stop()
                for handler in core.stopHandlers { handler() }
            case .wait(let deadline):
                arm(core, at: deadline)
                break loop
            case .sleep:
                core.timer?.task.cancel()
                core.timer = nil
                break loop
            }
        }
        // In pause mode nothing plays in a gap: what a sink holds goes out now. In silence mode the stream goes on.
        if core.schedule.state == .gap, core.lastState != .gap, configuration.gaps == .pause { core.sink.gapStarted() }
        core.lastState = core.schedule.state
        report(core, played: played)
    }

    private func arm(_ core: Core, at deadline: NIODeadline) {
        if let timer = core.timer, timer.deadline == deadline { return }
        core.timer?.task.cancel()
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let task = eventLoop.scheduleTask(deadline: deadline) {
            this.value.core.value.timer = nil
            this.value.run()
        }
        core.timer = (deadline, task)
    }

    private func report(_ core: Core, played: Int) {
        let sinkReport = core.sink.report
        if let counters = core.counters {
            if played > 0 { counters.frames.increment(by: played) }
            let packets = sinkReport.packetsSent - core.reported.packetsSent
            if packets > 0 { counters.packets.increment(by: packets) }
            let bytes = sinkReport.bytesSent - core.reported.bytesSent
            if bytes > 0 { counters.bytes.increment(by: bytes) }
            let underruns = core.schedule.underruns - core.reportedUnderruns
            if underruns > 0 { counters.underruns.increment(by: underruns) }
            let drops = core.schedule.framesDropped - core.reportedDrops
            if drops > 0 { counters.dropped.increment(by: drops) }
        }
        core.reported = sinkReport
        core.reportedUnderruns = core.schedule.underruns
        core.reportedDrops = core.schedule.framesDropped
        let schedule = core.schedule
        statusBox.withLockedValue { status in
            status.state = schedule.state.rawValue
            status.framesPlayed = schedule.framesPlayed
            status.framesDropped = schedule.framesDropped
            status.underruns = schedule.underruns
            status.bufferedSeconds = schedule.bufferedDuration.seconds
            status.packetsSent = sinkReport.packetsSent
            status.bytesSent = sinkReport.bytesSent
            status.sendErrors = sinkReport.sendErrors
            status.problem = sinkReport.problem
        }
    }
}

/// A speaker output's figures, for status and the admin API.
struct SpeakerStatus: Sendable, Equatable {
    var mount: String
    var name: String
    /// `rtp`, `playback` or `fec`.
    var type: String
    /// `mpa`/`l16` for RTP; the driver for playback.
    var mode: String
    /// `address:port` for RTP; the device (or file) for playback.
    var destination: String
    /// The schedule's state (`idle`, `buffering`, `playing`, `gap`), or `closed`.
    var state = SpeakerSchedule.State.idle.rawValue
    var framesPlayed = 0
    var framesDropped = 0
    var underruns = 0
    var bufferedSeconds = 0.0
    var packetsSent = 0
    var bytesSent = 0
    var sendErrors = 0
    var problem: String?

    init(mount: String, configuration: SpeakerOutputConfiguration) {
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
