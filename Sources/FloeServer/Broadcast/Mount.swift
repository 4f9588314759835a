import FloeCore
import Logging
import NIOCore
import NIOConcurrencyHelpers
import Synchronization

/// A mount point: its state machine behind a lock, and one `LoopBroadcaster` per event loop.
///
/// The lock guards admission, source changes and title updates — events counted per connection, not per byte.
/// Stream bytes never take it except once per published block (to number it and stamp the current title).
final class Mount: Sendable {
    let path: String
    /// The mount's series in `/metrics`, created with it.
    let metrics: MountMetrics?
    private let state: NIOLockedValueBox<MountStateMachine>
    private let nextSequence = Mutex(0)
    /// The current source's framing and clock figures, refreshed as it publishes.
    private let sourceStatistics = NIOLockedValueBox<SourceStatistics?>(nil)

    var statistics: SourceStatistics? { sourceStatistics.withLockedValue { $0 } }

    func recordStatistics(_ statistics: SourceStatistics?) {
        sourceStatistics.withLockedValue { $0 = statistics }
    }

    /// Closes the current source's connection (set at login, cleared when it ends).
    private let sourceCloser = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)
    /// Outputs fed by this mount (its own speakers and HLS stream, or those of mounts that fell back to it), and
    /// the block published last, which an output arriving from another mount starts with.
    private let outputs = NIOLockedValueBox<(attached: [any MountOutput], lastBlock: StreamBlock?)>(([], nil))
    /// The mount's HLS rendition; set once, just after the mount is made, and cleared when it is retired (the
    /// stream refers to its mount).
    private let hlsStream = NIOLockedValueBox<HLSStream?>(nil)

    var hls: HLSStream? { hlsStream.withLockedValue { $0 } }

    /// Gives the mount its HLS stream, which starts following it.
    func startHLS(_ configuration: HLSConfiguration) {
        let stream = HLSStream(home: self, configuration: configuration)
        hlsStream.withLockedValue { $0 = stream }
        stream.start()
    }

    /// The mount leaves the registry: its HLS stream stops following it.
    func retire() {
        hlsStream.withLockedValue { stream in
            stream?.detachForGood()
            stream = nil
        }
    }

    /// Whether outputs keep the mount in use: a speaker, another mount's output following listeners here, or its
    /// own HLS stream while players may still be reading its window.
    var hasActiveOutputs: Bool {
        let own = hls
        return attachedOutputs.contains { $0 !== own } || own?.isRecent == true
    }

    /// One broadcaster per event loop, each reachable only on its own loop.
    private let broadcasters: [(eventLoop: EventLoop, box: NIOLoopBoundBox<LoopBroadcaster>)]

    init(
        path: String,
        eventLoops: [EventLoop],
        queueCapacity: StreamAmount,
        metrics: MountMetrics? = nil,
        logger: Logger? = nil
    ) {
        self.path = path
        self.metrics = metrics
        let state = NIOLockedValueBox(MountStateMachine())
        self.state = state
        self.broadcasters = eventLoops.map { loop in
            let broadcaster = LoopBroadcaster(
                eventLoop: loop,
                queueCapacity: queueCapacity,
                listenerLeft: { id, slow in
                    Self.countOut(state.withLockedValue { $0.listenerLeft(slow: slow) }, id: id, path: path, logger: logger)
                    if slow { metrics?.slowListenersDropped.increment() }
                },
                bytesSent: { count in metrics?.bytesOut.increment(by: count) },
                listenerMovedIn: { _ in
                    state.withLockedValue { $0.listenerMovedIn() }
                }
            )
            return (loop, NIOLoopBoundBox.makeBoxSendingValue(broadcaster, eventLoop: loop))
        }
    }

    /// A consistent copy of the mount's state, for status and tests.
    var snapshot: MountStateMachine { state.withLockedValue { $0 } }

    /// The broadcaster of `loop`; call it on that loop.
    func broadcaster(for loop: EventLoop) -> LoopBroadcaster {
        for bound in broadcasters where bound.eventLoop === loop {
            return bound.box.value
        }
        preconditionFailure("channel on an event loop the server does not own")
    }

    // MARK: Sources

    func sourceConnected(id: Int, descriptor: SourceDescriptor) -> MountStateMachine.ConnectSourceAction {
        state.withLockedValue { $0.sourceConnected(id: id, descriptor: descriptor) }
    }

    /// The source `id` goes on from another stream (a relay's next upstream): listeners admitted from now on get
    /// its headers.
    func sourceDescriptorChanged(id: Int, to descriptor: SourceDescriptor) {
        _ = state.withLockedValue { $0.sourceDescriptorChanged(id: id, to: descriptor) }
    }

    /// Source `from` gives the mount to `to` (see `MountStateMachine.sourceHandedOver`); the new source attaches
    /// its own closer. Returns `false` when `from` no longer feeds the mount.
    func handOverSource(from: Int, to: Int, descriptor: SourceDescriptor) -> Bool {
        state.withLockedValue { state in
            guard state.sourceHandedOver(from: from, to: to, descriptor: descriptor) else { return false }
            sourceCloser.withLockedValue { $0 = nil }
            return true
        }
    }

    /// Applies `queue-size` or `queue-duration` on every loop, and the byte rate that estimates the play time of
    /// an unframed stream (the source's declared bitrate); takes effect as blocks arrive.
    func setQueueCapacity(_ capacity: StreamAmount, unframedBytesPerSecond: Int) {
        for bound in broadcasters {
            bound.eventLoop.execute { bound.box.value.setQueueCapacity(capacity, unframedBytesPerSecond: unframedBytesPerSecond) }
        }
    }

    /// Remembers how to end the current source (a configuration reload may remove the mount).
    func attachSource(closer: @escaping @Sendable () -> Void) {
        sourceCloser.withLockedValue { $0 = closer }
    }

    /// Ends the current source, if any: its connection closes and the usual end-of-source path runs.
    func closeSource() {
        sourceCloser.withLockedValue { $0 }?()
    }

    /// Whether a source feeds the mount now.
    var isLive: Bool {
        if case .live = snapshot.source { return true }
        return false
    }

    /// Ends the source `id`. Its listeners move to `fallback` (a live mount) on their own loops, or are closed.
    /// Speakers playing this mount follow the listeners to the fallback; without one, they play out what they
    /// hold and go back to their own mounts to wait for the next source. HLS streams follow only when
    /// `hlsMayFollow` (the fallback has no listener authentication: see `MountConfiguration.allowsHLS`).
    func sourceDisconnected(id: Int, fallback: Mount?, hlsMayFollow: Bool = false) {
        let ended = state.withLockedValue { state -> Bool in
            let generation = state.generation
            switch state.sourceDisconnected(id: id) {
            case .ignore:
                return false
            case .endListeners:
                sourceCloser.withLockedValue { $0 = nil }
                // Enqueued under the lock so that a new source's first block cannot overtake the cleanup.
                for (index, bound) in broadcasters.enumerated() {
                    if let fallback, fallback !== self {
                        let destination = fallback.broadcasters[index]
                        bound.eventLoop.execute {
                            // The fallback may have lost its source since it was chosen; then nobody takes over.
                            if fallback.isLive {
                                bound.box.value.moveAll(to: destination.box.value, generation: generation)
                            } else {
                                bound.box.value.endAll(generation: generation)
                            }
                        }
                    } else {
                        bound.eventLoop.execute { bound.box.value.endAll(generation: generation) }
                    }
                }
                return true
            }
        }
        guard ended else { return }
        // Outside this mount's state lock. Each move takes the output's own lock, then the mounts' output locks,
        // and checks that the output is still here: a concurrent move (its source came back) or close wins.
        let leaving = outputs.withLockedValue { outputs in
            outputs.lastBlock = nil
            return outputs.attached
        }
        let destination = fallback.flatMap { $0 !== self && $0.isLive ? $0 : nil }
        for output in leaving {
            if let destination, hlsMayFollow || !(output is HLSStream) {
                if output.move(from: self, to: destination, withLastBlock: true) { output.settle(after: destination) }
            } else if output.move(from: self, to: output.home, withLastBlock: false), !output.home.isLive {
                // A new source may have logged in meanwhile; then nothing ended.
                output.endOfSource()
            }
        }
    }

    // MARK: Outputs

    /// Starts feeding `output` this mount's blocks; called by the output (`MountOutput.move`), under its own lock,
    /// so an output is attached to one mount at a time. With `withLastBlock` (an output taking over from a mount
    /// whose source ended), it starts with the block published last: a speaker's buffer holds the old mount's
    /// final frames, and this one bridges the wait for this mount's next block, so the handover needs no gap.
    func attach(_ output: any MountOutput, withLastBlock: Bool = false) {
        outputs.withLockedValue { outputs in
            guard !outputs.attached.contains(where: { $0 === output }) else { return }
            outputs.attached.append(output)
            // Under the lock, so that the next published block cannot overtake this one.
            if withLastBlock, let block = outputs.lastBlock { output.receive(block, from: self) }
        }
    }

    /// Stops feeding `output` (called by the output, under its own lock).
    func detach(_ output: any MountOutput) {
        outputs.withLockedValue { $0.attached.removeAll { $0 === output } }
    }

    /// Outputs fed by this mount now.
    var attachedOutputs: [any MountOutput] { outputs.withLockedValue { $0.attached } }

    /// Brings this mount's outputs back from the fallbacks they followed listeners to (its source is back).
    func reclaimOutputs(from fallbacks: [Mount]) {
        for fallback in fallbacks where fallback !== self {
            for output in fallback.attachedOutputs where output.home === self {
                output.move(from: fallback, to: self, withLastBlock: false)
            }
        }
    }

    /// Moves every listener to `destination` (admin `moveclients`), on each loop.
    func moveAllListeners(to destination: Mount) {
        for (index, bound) in broadcasters.enumerated() {
            let target = destination.broadcasters[index]
            bound.eventLoop.execute { bound.box.value.moveAll(to: target.box.value, generation: .max, keepQueue: true) }
        }
    }

    /// Brings back, from each of `fallbacks`, the listeners that asked for this mount (`fallback-override`).
    func reclaimListeners(from fallbacks: [Mount]) {
        for fallback in fallbacks where fallback !== self {
            for (index, bound) in fallback.broadcasters.enumerated() {
                let destination = broadcasters[index]
                let path = self.path
                bound.eventLoop.execute { bound.box.value.moveListeners(homedAt: path, to: destination.box.value) }
            }
        }
    }

    /// Numbers a block, stamps it with the current title and hands it to every loop. With `sourceID`, only while
    /// that source feeds the mount: a source that has handed the mount over publishes nothing more.
    func publish(_ output: SourceIngest.Output, from sourceID: Int? = nil) {
        let stamp = nextSequence.withLock { next -> (sequence: Int, metadata: ICYMetadata, generation: Int)? in
            state.withLockedValue { state in
                if let sourceID, !state.isFed(by: sourceID) { return nil }
                defer { next += 1 }
                return (next, state.metadata, state.generation)
            }
        }
        guard let (sequence, metadata, generation) = stamp else { return }
        let block = StreamBlock(
            sequence: sequence,
            bytes: output.bytes,
            metadata: metadata,
            frames: output.frames,
            streamHeader: output.streamHeader,
            beginsWithHeader: output.beginsWithHeader,
            isJoinPoint: output.isJoinPoint,
            mediaDuration: output.mediaDuration,
            generation: generation
        )
        for bound in broadcasters {
            bound.eventLoop.execute { bound.box.value.publish(block) }
        }
        // Handing a block to an output is one `execute` (a speaker) or one segmenter step (HLS); done under the
        // lock so an arriving output's first block (see `attach`) and this one reach it in order.
        outputs.withLockedValue { outputs in
            outputs.lastBlock = block
            for output in outputs.attached { output.receive(block, from: self) }
        }
    }

    // MARK: Listeners and metadata

    /// Every listener hearing this mount now, asked of each loop (for `/admin/listclients`), by id.
    func listenerInfo(on eventLoop: EventLoop) -> EventLoopFuture<[ListenerInfo]> {
        let path = self.path
        let perLoop = broadcasters.map { bound in
            bound.eventLoop.submit { bound.box.value.listenerInfo(mount: path) }
        }
        return EventLoopFuture.whenAllSucceed(perLoop, on: eventLoop).map { $0.joined().sorted { $0.id < $1.id } }
    }

    /// Disconnects listener `id` if it hears this mount; the future says whether it did.
    func closeListener(_ id: Int, on eventLoop: EventLoop) -> EventLoopFuture<Bool> {
        let perLoop = broadcasters.map { bound in
            bound.eventLoop.submit { bound.box.value.closeListener(id) }
        }
        return EventLoopFuture.whenAllSucceed(perLoop, on: eventLoop).map { $0.contains(true) }
    }

    /// Admission, with the source generation the listener is admitted for.
    func listenerArrived(
        maxListeners: Int?,
        counting: Bool = true
    ) -> (action: MountStateMachine.AdmitListenerAction, generation: Int) {
        state.withLockedValue { ($0.listenerArrived(maxListeners: maxListeners, counting: counting), $0.generation) }
    }

    func listenerLeftBeforeStreaming(id: Int, logger: Logger) {
        Self.countOut(state.withLockedValue { $0.listenerLeft(slow: false) }, id: id, path: path, logger: logger)
    }

    /// Logs a listener count that had to be repaired: a fault to fix, but never a reason to stop the server.
    private static func countOut(_ action: MountStateMachine.ListenerLeftAction, id: Int, path: String, logger: Logger?) {
        guard case .countRepaired = action else { return }
        logger?.error(
            "Listener count mismatch: more listeners left than arrived; count kept at zero",
            metadata: ["mount.path": "\(path)", "listener.id": "\(id)"]
        )
    }

    func metadataUpdated(_ update: MetadataUpdate) -> MountStateMachine.MetadataAction {
        state.withLockedValue { $0.metadataUpdated(update) }
    }
}
