import CoreMetrics
import FloeCodec
import FloeCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A mount made from another: an output of its origin mount (so it follows the origin's listeners to a fallback and
/// back, like a speaker), whose blocks are decoded and encoded again off the event loops, then framed and published
/// on the derived mount as a source's would be.
///
/// ```
///  origin publishes ─► receive(block) ─► queue (≤ 10 s) ─► thread pool: libmpg123 → LAME → SourceIngest ─► derived.publish
///     (under its lock: an append, nothing more)                 one job at a time per mount
/// ```
///
/// The origin never waits: `receive` appends to a bounded queue and at most submits a job. An encoder that falls
/// behind loses the oldest queued audio (counted, logged, and cut cleanly with an encoder restart), never the
/// origin's listeners' stream. The derived mount is live while its origin's source is; it follows the origin's
/// titles; with `on-demand`, nothing is encoded while it has no listeners.
final class TranscodedMount: MountOutput {
    let home: Mount
    let placement = MountOutputPlacement()
    let derived: Mount
    let configuration: TranscodeConfiguration
    /// Audio queued beyond this is dropped, oldest first.
    static let maximumBacklog = Duration.seconds(10)

    private enum Item {
        case block(StreamBlock)
        /// The origin's stream jumps (a fallback, a new source): restart the encoder cleanly.
        case restart
        /// The origin's source ended with nothing to take over: the derived mount's source ends too.
        case endOfSource
        case close
    }

    private struct Queue {
        var items = CircularBuffer<Item>()
        var media = Duration.zero
        var running = false
        var closed = false
        /// Audio dropped since the worker last took an item: it restarts the encoder before going on.
        var droppedSinceLastItem = Duration.zero
    }

    /// What the figures say, for status and `/metrics`.
    struct Figures: Sendable {
        /// Seconds of encoding per second of audio (0.02: 2 % of a core).
        var realTimeFactor: Double?
        var droppedSeconds = 0.0
        var restarts = 0
        var encoding = false
    }

    private let queue = NIOLockedValueBox(Queue())
    private let figures = NIOLockedValueBox(Figures())
    private let worker: Worker
    private let pool: NIOThreadPool
    private let logger: Logger
    private let gauges: TranscodeGauges

    init(origin: Mount, derived: Mount, configuration: TranscodeConfiguration, pool: NIOThreadPool, context: ServerContext) {
        self.home = origin
        self.derived = derived
        self.configuration = configuration
        self.pool = pool
        var logger = context.logger
        logger[metadataKey: "mount.path"] = "\(derived.path)"
        logger[metadataKey: "transcode.from"] = "\(origin.path)"
        self.logger = logger
        worker = Worker(derived: derived, configuration: configuration, context: context, logger: logger)
        gauges = context.metrics.transcodeGauges(mount: derived.path)
        worker.requestEnd = { [weak self] in self?.endOfSource() }
    }

    var currentFigures: Figures { figures.withLockedValue { $0 } }

    // MARK: MountOutput

    func receive(_ block: StreamBlock, from mount: Mount) {
        // Following the origin's listeners onto the derived mount itself (a fallback chain through it) would feed
        // the encoder its own output for ever: such blocks are not taken. (Judged by the mount that sends the block:
        // asking `currentMountPath` here re-took the placement lock a move holds, and crashed the server when an
        // origin's source left for a live fallback; found by a probe.)
        guard mount !== derived else { return }
        enqueue(.block(block))
    }

    func endOfSource() { enqueue(.endOfSource) }

    func followsAnotherMount() { enqueue(.restart) }

    /// Stops for good (a reload removed it, or the server stops): the derived mount's source ends.
    func close() {
        detachForGood()
        enqueue(.close)
    }

    private func enqueue(_ item: Item) {
        let submit = queue.withLockedValue { queue -> Bool in
            guard !queue.closed else { return false }
            if case .close = item {
                // Nothing queued is worth encoding any more.
                queue.closed = true
                queue.items.removeAll()
                queue.media = .zero
            }
            queue.items.append(item)
            if case .block(let block) = item { queue.media += block.playTime ?? .zero }
            while queue.media > Self.maximumBacklog, let index = queue.items.firstIndex(where: { if case .block = $0 { true } else { false } }) {
                guard case .block(let old) = queue.items.remove(at: index) else { break }
                let media = old.playTime ?? .zero
                queue.media -= media
                queue.droppedSinceLastItem += media
            }
            guard !queue.running else { return false }
            queue.running = true
            return true
        }
        if submit { pool.submit { [self] _ in drain() } }
    }

    /// Runs on the pool: takes what is queued, one item at a time (so drops and a close are seen at once), until
    /// nothing is.
    private func drain() {
        while true {
            let next = queue.withLockedValue { queue -> (item: Item, dropped: Duration)? in
                guard let item = queue.items.popFirst() else {
                    queue.running = false
                    return nil
                }
                if case .block(let block) = item { queue.media -= block.playTime ?? .zero }
                defer { queue.droppedSinceLastItem = .zero }
                return (item, queue.droppedSinceLastItem)
            }
            guard let next else { return }
            if next.dropped > .zero {
                logger.warning("Transcoder behind: dropped audio", metadata: ["transcode.dropped_seconds": "\(next.dropped.seconds)"])
                worker.restart()
                figures.withLockedValue { $0.droppedSeconds += next.dropped.seconds }
            }
            switch next.item {
            case .block(let block): worker.transcode(block)
            case .restart: worker.restart()
            case .endOfSource: worker.endSource()
            case .close:
                worker.endSource()
                return
            }
            let report = worker.report
            let dropped = figures.withLockedValue { figures in
                figures.realTimeFactor = report.realTimeFactor
                figures.restarts = report.restarts
                figures.encoding = report.encoding
                return figures.droppedSeconds
            }
            if let factor = report.realTimeFactor { gauges.realTimeFactor.record(factor) }
            gauges.droppedSeconds.record(dropped)
        }
    }
}

extension TranscodedMount {
    /// The transcoding itself. Confined to the one job a `TranscodedMount` runs at a time (its `running` flag), so
    /// it needs no lock of its own.
    private final class Worker: @unchecked Sendable {
        let derived: Mount
        let configuration: TranscodeConfiguration
        let context: ServerContext
        let logger: Logger
        var transcoder: MP3Transcoder
        var ingest: SourceIngest
        var sourceID: Int?
        var title: String?
        var encodeTime = Duration.zero
        var mediaEncoded = Duration.zero
        var encoding = false
        var refusedLogged = false
        var failureLogged = false
        /// Ends the derived mount's source through the queue (`/admin/killsource`); set once, before any job.
        var requestEnd: (@Sendable () -> Void)?

        init(derived: Mount, configuration: TranscodeConfiguration, context: ServerContext, logger: Logger) {
            self.derived = derived
            self.configuration = configuration
            self.context = context
            self.logger = logger
            transcoder = MP3Transcoder(settings: Self.settings(configuration))
            ingest = Self.makeIngest(context)
        }

        static func settings(_ configuration: TranscodeConfiguration) -> MP3Transcoder.Settings {
            let mode: MP3Encoder.Mode
            switch configuration.mode {
            case .cbr: mode = .cbr(kbps: configuration.bitrate)
            case .vbr: mode = .vbr(level: configuration.quality)
            case .abr: mode = .abr(kbps: configuration.bitrate)
            }
            return .init(sampleRate: configuration.sampleRate, channels: configuration.channels, mode: mode, quality: configuration.quality)
        }

        static func makeIngest(_ context: ServerContext) -> SourceIngest {
            SourceIngest(format: .mpeg, blockDuration: .seconds(configured: context.configuration.limits.blockDuration))
        }

        var report: (realTimeFactor: Double?, restarts: Int, encoding: Bool) {
            let factor = mediaEncoded > .zero ? encodeTime.seconds / mediaEncoded.seconds : nil
            return (factor, transcoder.restarts, encoding)
        }

        func transcode(_ block: StreamBlock) {
            guard connectSource(for: block) else { return }
            if configuration.onDemand, derived.snapshot.listeners == 0 {
                // Nobody listens: no encoding. The source goes on under a new id, so the next listener's burst
                // holds nothing of the last session.
                if encoding {
                    restart()
                    endSource(movingListeners: false)
                    _ = connectSource(for: block)
                }
                encoding = false
                return
            }
            encoding = true
            if block.metadata.title != title {
                title = block.metadata.title
                // What is gathered so far was encoded from blocks under the old title: it goes out under it.
                publish(ingest.cutBlock(), at: .now())
                _ = derived.metadataUpdated(MetadataUpdate(title: block.metadata.title))
            }
            let clock = ContinuousClock()
            let started = clock.now
            var encoded: [UInt8] = []
            for span in block.frames where span.duration > .zero {
                guard let frame = block.bytes.getSlice(at: block.bytes.readerIndex + span.offset, length: span.length) else { continue }
                do {
                    encoded += try transcoder.transcode(frame)
                    mediaEncoded += span.duration
                } catch {
                    if !failureLogged { logger.error("Cannot transcode: \(error)") }
                    failureLogged = true
                }
            }
            encodeTime += clock.now - started
            if let delay = configuration.testDelay { Thread.sleep(forTimeInterval: delay.seconds) }
            publish(encoded)
        }

        /// The derived mount goes live with the origin's first block; `false` while another source feeds it.
        private func connectSource(for block: StreamBlock) -> Bool {
            if sourceID != nil { return true }
            guard let origin = block.bytes.getSlice(at: block.bytes.readerIndex, length: min(4, block.bytes.readableBytes))
                .flatMap(MP3Transcoder.format(ofFrame:))
            else {
                // AAC, Ogg, WebM: nothing libmpg123 decodes. The derived mount stays off rather than live and silent.
                if !refusedLogged { logger.warning("Not transcoding: the origin's stream is not MPEG audio") }
                refusedLogged = true
                return false
            }
            let id = context.makeConnectionID()
            var headers: [(name: String, value: String)] = [
                ("ice-audio-info", configuration.audioInfo(originSampleRate: origin.sampleRate, originChannels: origin.channels)),
            ]
            if configuration.mode != .vbr { headers.append(("ice-bitrate", "\(configuration.bitrate)")) }
            if let name = context.configuration.mount(derived.path).streamName { headers.append(("ice-name", name)) }
            let descriptor = SourceDescriptor(contentType: "audio/mpeg", headers: headers, peerAddress: "transcode", connectedAt: Date())
            guard derived.sourceConnected(id: id, descriptor: descriptor) == .accept else {
                if !refusedLogged { logger.warning("Transcoded mount is fed by another source; waiting") }
                refusedLogged = true
                return false
            }
            refusedLogged = false
            sourceID = id
            title = nil
            derived.metrics?.sourceConnects.increment()
            // As for any source: /admin/killsource ends it (until the origin's next block), and what followed the
            // derived mount's listeners to its fallbacks comes home.
            if let requestEnd { derived.attachSource(closer: requestEnd) }
            let configuration = context.configuration
            let fallbacks = context.mounts.fallbackChain(of: derived.path, configuration: configuration)
            if configuration.mount(derived.path).fallbackOverride { derived.reclaimListeners(from: fallbacks) }
            derived.reclaimOutputs(from: fallbacks)
            logger.info("Transcoded mount is live")
            return true
        }

        private func publish(_ encoded: [UInt8]) {
            guard sourceID != nil, !encoded.isEmpty else { return }
            let now = NIODeadline.now()
            publish(ingest.receive(ByteBuffer(bytes: encoded), at: now), at: now)
            derived.metrics?.bytesIn.increment(by: encoded.count)
        }

        private func publish(_ outputs: [SourceIngest.Output], at now: NIODeadline) {
            guard let sourceID, !outputs.isEmpty else { return }
            for output in outputs {
                derived.publish(output, from: sourceID)
                derived.metrics?.frames.increment(by: output.frames.count)
            }
            derived.recordStatistics(ingest.statistics(at: now, pace: ingest.clock.pace(at: now)))
        }

        /// A clean cut: the encoder's last frames go out, the next frame starts a new encoder.
        func restart() {
            publish(transcoder.restart())
        }

        /// The origin's source ended: the last frames, then the derived mount's source ends (its listeners move
        /// to its own fallback, if it has one).
        func endSource(movingListeners: Bool = true) {
            restart()
            guard let sourceID else { return }
            for output in ingest.finish(at: .now()) { derived.publish(output, from: sourceID) }
            ingest = Self.makeIngest(context)
            context.mounts.endSource(
                id: sourceID,
                of: derived,
                configuration: context.configuration,
                movingListeners: movingListeners
            )
            derived.recordStatistics(nil)
            derived.metrics?.sourceDisconnects.increment()
            self.sourceID = nil
            encoding = false
            logger.info("Transcoded mount's origin ended")
        }
    }
}
