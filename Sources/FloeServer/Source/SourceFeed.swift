import FloeCore
import Foundation
import Logging
import NIOCore

/// One source's stream on its way into a mount, whatever brings the bytes: a source connection
/// (`SourceIngestHandler`) or a relay pulling from an upstream (`RelaySource`).
///
/// Framing and clocking happen here, on the caller's event loop (one loop for the feed's whole life); listeners'
/// loops only ever see whole blocks. `end()` publishes what is left and frees the mount, exactly once.
///
/// A feed may also feed mirrors: other mounts that get the same blocks (the same buffers, framed once), as
/// relays of one upstream mount sharing its connection do. They end with the feed.
final class SourceFeed {
    private let server: ServerContext
    let mount: Mount
    let sourceID: Int
    private var ingest: SourceIngest
    private let hooks: SourceHooks
    /// The login as the access log shows it (`"SOURCE /live HTTP/1.0" 200 19`), written when the source ends;
    /// `nil` for a relay, which logged in nowhere.
    private let accessRecord: AccessRecord?
    private let logger: Logger
    private(set) var ended = false
    /// The last bytes published (up to `tailLength`, ending on a frame boundary): what a relay's next stream is
    /// aligned on, so a burst that repeats what listeners already heard is skipped.
    private(set) var publishedTail: [UInt8] = []
    static let tailLength = 1024
    /// Other mounts fed the same blocks, each under its own source id.
    private(set) var mirrors: [(mount: Mount, sourceID: Int)] = []
    /// The pace last reported in the log, so a change is logged once, not per read.
    private var reportedPace = FrameClock.Pace.realTime

    init(
        server: ServerContext,
        mount: Mount,
        sourceID: Int,
        ingest: SourceIngest,
        hooks: SourceHooks,
        accessRecord: AccessRecord?,
        logger: Logger
    ) {
        self.server = server
        self.mount = mount
        self.sourceID = sourceID
        self.ingest = ingest
        self.hooks = hooks
        self.accessRecord = accessRecord
        self.logger = logger
    }

    /// The source is connected: runs the mount's on-connect hooks.
    func started() {
        hooks.connected()
    }

    /// Feeds `mount` too, from the next block on; it is already live under `sourceID`.
    func addMirror(_ mount: Mount, sourceID: Int) {
        mirrors.append((mount, sourceID))
    }

    /// The stream goes on from another upstream (a relay): listeners admitted from now on get its headers.
    func descriptorChanged(to descriptor: SourceDescriptor) {
        mount.sourceDescriptorChanged(id: sourceID, to: descriptor)
        for mirror in mirrors { mirror.mount.sourceDescriptorChanged(id: mirror.sourceID, to: descriptor) }
    }

    /// Stops feeding the mirror `mount`: its source ends there as a source's end would (fallback, or closed).
    func removeMirror(_ mount: Mount) {
        guard let index = mirrors.firstIndex(where: { $0.mount === mount }) else { return }
        let mirror = mirrors.remove(at: index)
        server.mounts.endSource(id: mirror.sourceID, of: mount, configuration: server.configuration)
    }

    /// Every mount this feed publishes to: its own, then its mirrors.
    var mounts: [Mount] { [mount] + mirrors.map(\.mount) }

    /// Frames framed so far (MPEG).
    var framesReceived: Int { ingest.framing.frames }

    var format: StreamFormat { ingest.format }

    /// Hands a block to the mount and its mirrors.
    private func publish(_ output: SourceIngest.Output) {
        if let title = output.chainTags?.displayTitle {
            // A new Ogg chain's title (Vorbis comments, OpusTags, FLAC's comments): the block carries it.
            for target in [mount] + mirrors.map(\.mount) where target.snapshot.metadata.title != title {
                switch target.metadataUpdated(MetadataUpdate(title: title)) {
                case .updated: logger.info("Metadata on mountpoint \(target.path) changed to \"\(title)\" (from the stream)")
                case .rejectTooLong: logger.warning("Title in the stream too long", metadata: ["mount.path": "\(target.path)"])
                case .rejectNoSource: break
                }
            }
        }
        mount.publish(output, from: sourceID)
        for mirror in mirrors { mirror.mount.publish(output, from: mirror.sourceID) }
        if !output.frames.isEmpty { mount.metrics?.frames.increment(by: output.frames.count) }
        rememberTail(of: output.bytes)
    }

    private func rememberTail(of bytes: ByteBuffer) {
        let count = min(bytes.readableBytes, Self.tailLength)
        guard count > 0, let last = bytes.getBytes(at: bytes.readerIndex + bytes.readableBytes - count, length: count) else {
            return
        }
        publishedTail = count == Self.tailLength ? last : Array((publishedTail + last).suffix(Self.tailLength))
    }

    /// The bytes that follow come from another stream (see `SourceIngest.startNewStream`).
    func startNewStream() {
        for output in ingest.startNewStream() {
            publish(output)
        }
    }

    /// Frames `bytes` and publishes every block they complete.
    func receive(_ bytes: ByteBuffer) {
        guard !ended else { return }
        hooks.received(bytes)
        let now = NIODeadline.now()
        let outputs = ingest.receive(bytes, at: now)
        mount.metrics?.bytesIn.increment(by: bytes.readableBytes)
        for output in outputs {
            publish(output)
        }
        reportPaceChange(at: now)
        if !outputs.isEmpty {
            // Once per block (twice a second), not per read.
            mount.recordStatistics(ingest.statistics(at: now, pace: reportedPace))
        }
    }

    /// This source has handed the mount to another (a live source taking over a relay's mount): it ends without
    /// touching the mount or its listeners, and what it had not published yet is dropped, as the new source's
    /// blocks already follow. Its `<sources>` slot is released (the taker claimed its own).
    func handOver(to taker: String) {
        guard !ended else { return }
        ended = true
        leave(handingOverTo: taker, keepingSourceSlot: false)
    }

    private func leave(handingOverTo taker: String, keepingSourceSlot: Bool) {
        mount.metrics?.sourceDisconnects.increment()
        hooks.disconnected()
        if let accessRecord { server.accessLog?.record(accessRecord) }
        if !keepingSourceSlot { server.sources.release() }
        logger.info("Source handed the mount over to \(taker)", metadata: ["source.bytes": "\(ingest.bytesReceived)"])
    }

    /// Logs when the source starts or stops keeping real time: an operator's first clue to a misbehaving
    /// encoder (too fast: no pacing; too slow: an encoder or network that cannot keep up).
    private func reportPaceChange(at now: NIODeadline) {
        let pace = ingest.clock.pace(at: now, previous: reportedPace)
        guard pace != reportedPace else { return }
        reportedPace = pace
        let lead = String(format: "%.1f", ingest.clock.lead(at: now).seconds)
        switch pace {
        case .fast: logger.warning("Source is sending faster than real time", metadata: ["source.lead_seconds": "\(lead)"])
        case .slow: logger.warning("Source is sending slower than real time", metadata: ["source.lead_seconds": "\(lead)"])
        case .realTime: logger.info("Source is back to real time", metadata: ["source.lead_seconds": "\(lead)"])
        }
    }

    /// Publishes what is left, then frees the mount for the next source and ends (or moves) its listeners.
    func end() {
        guard !ended else { return }
        ended = true
        for output in ingest.finish(at: .now()) {
            publish(output)
        }
        for mirror in mirrors {
            removeMirror(mirror.mount)
        }
        // A relay waiting for this live source to leave takes the mount back, listeners and all (framed formats
        // only, as for the takeover; otherwise the relay notices the mount is free and connects anew).
        if let relay = server.relays.relayAwaitingMount(mount.path), case .live(let live) = mount.snapshot.source,
            live.id == sourceID, live.descriptor.format.isFramed
        {
            let relayID = server.makeConnectionID()
            if mount.handOverSource(from: sourceID, to: relayID, descriptor: live.descriptor) {
                leave(handingOverTo: "the relay", keepingSourceSlot: true)
                relay.resume(sourceID: relayID, descriptor: live.descriptor)
                return
            }
        }
        let fallback = server.mounts.endSource(id: sourceID, of: mount, configuration: server.configuration)
        mount.recordStatistics(nil)
        mount.metrics?.sourceDisconnects.increment()
        hooks.disconnected()
        // A mount the configuration does not name goes once its listeners have gone (each loop ends or moves
        // them in a task queued just now); the periodic sweep catches any that take longer.
        let server = self.server
        server.mounts.eventLoopForHousekeeping.scheduleTask(in: .seconds(1)) {
            server.mounts.retireUnused(configuration: server.configuration)
        }
        if let accessRecord { server.accessLog?.record(accessRecord) }
        if let fallback {
            logger.info("Listeners moved to the fallback", metadata: ["fallback.path": "\(fallback.path)"])
        }
        server.sources.release()
        let framing = ingest.framing
        logger.info(
            "Source exiting",
            metadata: [
                "source.bytes": "\(ingest.bytesReceived)",
                "source.frames": "\(framing.frames)",
                "source.garbage_bytes": "\(framing.garbageBytes)",
                "source.id3_bytes": "\(framing.id3Bytes)",
                "source.measured_bitrate": "\(ingest.clock.measuredBitrate.map(String.init) ?? "-")",
            ]
        )
    }
}
