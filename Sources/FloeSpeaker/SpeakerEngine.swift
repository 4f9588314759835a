import FloeCore
import Logging
import MPEGAudio
import NIOConcurrencyHelpers
import NIOCore

/// One speaker output's engine, running on one event loop: frames in, through the jitter buffer and the
/// speaker's clock (`SpeakerSchedule`), out to a sink (RTP, FEC or a sound device) at their due time.
///
/// It knows nothing of mounts: the server's `Speaker` feeds it a mount's blocks (one hop per block, not per
/// frame) and moves it between mounts; `floe play` feeds it a stream read over HTTP. Frames are released one by
/// one from a timer on the engine's loop.
package final class SpeakerEngine: Sendable {
    package let configuration: SpeakerOutputConfiguration
    package let eventLoop: EventLoop
    /// For RTP outputs: what the SDP announces.
    package let sessionDescription: SessionDescription?
    private let core: NIOLoopBoundBox<Core>
    private let statusBox: NIOLockedValueBox<SpeakerStatus>
    /// The output's series in `/metrics` (none for `floe play`).
    private let counters: SpeakerCounters?

    /// The schedule, the sink and the timer, confined to `eventLoop`.
    private final class Core {
        var schedule: SpeakerSchedule
        let sink: any SpeakerSink
        var timer: (deadline: NIODeadline, task: Scheduled<Void>)?
        var closed = false
        /// Called each time the output stops (the source ended and everything played).
        var stopHandlers: [() -> Void] = []
        var reported = SpeakerSinkReport()
        var reportedUnderruns = 0
        var reportedDrops = 0
        var lastState = SpeakerSchedule.State.idle
        /// Why the frames received are not played (AAC), until MPEG audio comes again; logged once.
        var formatProblem: String?
        let logger: Logger

        init(schedule: SpeakerSchedule, sink: any SpeakerSink, logger: Logger) {
            self.schedule = schedule
            self.sink = sink
            self.logger = logger
        }
    }

    /// - Parameters:
    ///   - mount: the mount the output is configured on (for status and logs).
    ///   - streamName: the SDP's session name for RTP outputs.
    ///   - hostname: the SDP's origin.
    package init(
        mount: String,
        configuration: SpeakerOutputConfiguration,
        eventLoop: EventLoop,
        logger: Logger,
        counters: SpeakerCounters?,
        streamName: String? = nil,
        hostname: String = "localhost"
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.counters = counters
        var logger = logger
        logger[metadataKey: "mount.path"] = "\(mount)"
        logger[metadataKey: "output"] = "\(configuration.name)"
        let sink: any SpeakerSink
        switch configuration.kind {
        case .rtp(let output):
            let sender = RTPSender(output: output, eventLoop: eventLoop, logger: logger)
            sessionDescription = SessionDescription(
                name: streamName ?? "Floe \(mount)",
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
        core = NIOLoopBoundBox.makeBoxSendingValue(Core(schedule: schedule, sink: sink, logger: logger), eventLoop: eventLoop)
        statusBox = NIOLockedValueBox(SpeakerStatus(mount: mount, configuration: configuration))
        eventLoop.execute { [core] in core.value.sink.prepare() }
    }

    /// What the output is doing, for status pages.
    package var status: SpeakerStatus { statusBox.withLockedValue { $0 } }

    /// Sets `floe_speaker_playing` from the status now (when `/metrics` is read).
    package func recordPlayingGauge() {
        counters?.playing.record(status.state == SpeakerSchedule.State.playing.rawValue ? 1 : 0)
    }

    /// Takes the frames of a block (`frames` locate them in `bytes`). Unframed formats (Ogg, WebM) carry no frames
    /// and play nothing; Xing/Info frames carry no audio and are skipped. AAC frames are not played either (the
    /// outputs carry MPEG audio: RTP's MPA payload, FEC slices of MPEG frames, libmpg123): the output says so in
    /// its status and log, once per run of them.
    package func receive(_ bytes: ByteBuffer, frames: [FrameSpan]) {
        guard !frames.isEmpty else { return }
        eventLoop.execute { [self] in
            guard !core.value.closed else { return }
            let now = NIODeadline.now()
            for span in frames where span.duration > .zero {
                guard let frame = Self.frame(span, in: bytes) else {
                    refuseUnplayable(span, in: bytes)
                    continue
                }
                if core.value.formatProblem != nil {
                    core.value.formatProblem = nil
                    core.value.logger.info("MPEG audio again: playing")
                }
                core.value.schedule.enqueue(frame, at: now)
            }
            run()
        }
    }

    /// The source ended and nothing took over: what is buffered plays out, then the output stops.
    package func endOfSource() {
        eventLoop.execute { [self] in
            core.value.schedule.endOfSource()
            run()
        }
    }

    /// Stops for good. The future completes once the sink has closed (a sound device has played out what it was
    /// given).
    package func close() -> EventLoopFuture<Void> {
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

    /// Calls `handler` (on the engine's loop) each time the output stops after its source ended.
    package func onStop(_ handler: @escaping @Sendable () -> Void) {
        eventLoop.execute { [self] in core.value.stopHandlers.append(handler) }
    }

    /// A frame that is not MPEG audio: an AAC frame is a format this output cannot carry (logged once per run).
    private func refuseUnplayable(_ span: FrameSpan, in bytes: ByteBuffer) {
        guard core.value.formatProblem == nil, let first = bytes.getBytes(at: bytes.readerIndex + span.offset, length: 2),
            first.withUnsafeBytes({ ADTSFrameHeader.couldStart($0, at: 0) })
        else { return }
        let problem = "the source sends AAC, and this output plays MPEG audio only"
        core.value.formatProblem = problem
        core.value.logger.error("Not playing: \(problem)")
        statusBox.withLockedValue { $0.problem = problem }
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
        if let counters {
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
            status.problem = sinkReport.problem ?? core.formatProblem
        }
    }
}

