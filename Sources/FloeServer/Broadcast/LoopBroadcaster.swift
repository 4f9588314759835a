import FloeCore
import NIOCore

/// A mount's fan-out on one event loop: a mirror of the mount's recent blocks and the listeners whose channels
/// live on this loop.
///
/// The mount hands each new block to every loop once (one `execute` per loop per block); from there the loop
/// writes it to its own listeners with plain channel writes and one flush each. No lock is taken on this path
/// and no bytes are copied: the blocks are shared `ByteBuffer`s, and each loop's queue holds references to the
/// same storage.
///
/// Confined to `eventLoop`: reach it only through `NIOLoopBound`.
final class LoopBroadcaster {
    let eventLoop: EventLoop
    private var queue: BroadcastQueue
    /// Listeners in no particular order; each knows its `slot`. Loops over it run backwards, so a listener removed
    /// mid-loop (a write that fails closes its channel at once) swaps in one already visited.
    private var listeners: [ListenerSession] = []
    /// Next index of the fan-out pass in progress, counting down; -1 when no pass is running.
    private var passCursor = -1
    /// Whether the rest of a pass is scheduled.
    private var passContinuationScheduled = false
    /// A block arrived during a pass: once the pass ends, another starts for the listeners it already visited.
    private var needsAnotherPass = false
    /// The source generation of the blocks in the queue.
    private var generation = 0

    /// Listeners written per slice of a pass. Between slices the loop returns to its selector, so a new
    /// listener's request is answered within one slice (about a millisecond on loopback) rather than after a
    /// pass over thousands of sockets.
    static let sliceSize = 256
    /// Called (on this loop) when a listener leaves; `slow` when it was dropped for falling behind.
    private let listenerLeft: @Sendable (_ id: Int, _ slow: Bool) -> Void
    /// Called (on this loop) with the listener's id when it arrives from another mount.
    private let listenerMovedIn: @Sendable (Int) -> Void
    /// Called once per slice with the bytes handed to listeners (for metrics), never per write.
    private let bytesSent: @Sendable (Int) -> Void
    private var unreportedBytes = 0

    init(
        eventLoop: EventLoop,
        queueCapacity: StreamAmount,
        listenerLeft: @escaping @Sendable (Int, Bool) -> Void,
        bytesSent: @escaping @Sendable (Int) -> Void = { _ in },
        listenerMovedIn: @escaping @Sendable (Int) -> Void
    ) {
        self.eventLoop = eventLoop
        self.queue = BroadcastQueue(capacity: queueCapacity)
        self.listenerLeft = listenerLeft
        self.bytesSent = bytesSent
        self.listenerMovedIn = listenerMovedIn
    }

    var listenerCount: Int { listeners.count }

    /// The listeners on this loop, for admin listings.
    func listenerInfo(mount: String) -> [ListenerInfo] {
        listeners.map { $0.info(mount: mount) }
    }

    /// Closes listener `id`'s connection if it is here; returns whether it was.
    func closeListener(_ id: Int) -> Bool {
        guard let listener = listeners.first(where: { $0.id == id }) else { return false }
        listener.channel.close(promise: nil)
        return true
    }

    /// Changes how much stream the queue keeps (a new source, after a reload changed `queue-size`).
    func setQueueCapacity(_ capacity: StreamAmount, unframedBytesPerSecond: Int) {
        queue.capacity = capacity
        queue.unframedBytesPerSecond = unframedBytesPerSecond
    }

    /// Adds a block at the live edge and starts a pass over the listeners: those that fell out of the queue are
    /// dropped, the rest are sent what they have not had.
    func publish(_ block: StreamBlock) {
        if block.generation < generation { return }
        if block.generation > generation {
            // A new source: what the queue holds belongs to the old one.
            queue.removeAll()
            generation = block.generation
        }
        if !queue.isEmpty, block.sequence != queue.endSequence {
            // A gap means the mount restarted its sequence (a new source after a reset); start afresh.
            queue.removeAll()
        }
        let wasEmpty = queue.isEmpty
        queue.append(block)
        if wasEmpty {
            // Listeners waiting on an empty queue were at the live edge: this block is their next one.
            for listener in listeners where listener.nextSequence < block.sequence {
                listener.nextSequence = block.sequence
            }
        }
        if passCursor >= 0 {
            // A pass is running: listeners it has yet to visit will get this block too; those it visited get
            // another pass afterwards. Restarting from the top instead could starve the bottom of the list when
            // blocks come faster than a pass (a source catching up).
            needsAnotherPass = true
            return
        }
        passCursor = listeners.count - 1
        continuePass(sliceSize: Self.sliceSize)
    }

    /// Visits one slice of the pass, then yields to the selector before the next.
    private func continuePass(sliceSize: Int) {
        var visited = 0
        while passCursor >= 0, visited < sliceSize {
            // Removals during the pass swap the last listener (already visited, or new and already pumped) into
            // the freed slot, so no listener waiting for its turn is skipped.
            if passCursor < listeners.count {
                let listener = listeners[passCursor]
                if listener.nextSequence < queue.firstSequence {
                    drop(listener, slow: true)
                } else {
                    pump(listener)
                }
            }
            passCursor -= 1
            visited += 1
            if passCursor < 0, needsAnotherPass {
                needsAnotherPass = false
                passCursor = listeners.count - 1
            }
        }
        if unreportedBytes > 0 {
            bytesSent(unreportedBytes)
            unreportedBytes = 0
        }
        guard passCursor >= 0, !passContinuationScheduled else { return }
        passContinuationScheduled = true
        // A task due "now" would run in this same tick (NIO drains ready tasks before selecting again); one due
        // a few microseconds later lets the loop serve sockets first.
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: .microseconds(20)) {
            this.value.passContinuationScheduled = false
            this.value.continuePass(sliceSize: Self.sliceSize)
        }
    }

    /// Starts a listener `burst` (bytes or play time) behind the live edge (on a block, hence frame, boundary) and sends the
    /// burst at once, so the first bytes go out in the same loop tick as the response head.
    ///
    /// A listener admitted for a newer source than this loop has seen yet (the old source's end is still queued
    /// for this loop) starts at the live edge: the queue holds only the old source's audio.
    func add(_ listener: ListenerSession, burst: StreamAmount, generation: Int) {
        listener.generation = generation
        listener.nextSequence = generation > self.generation ? queue.endSequence : queue.burstStart(burst)
        listener.broadcaster = self
        listener.slot = listeners.count
        listeners.append(listener)
        pump(listener)
        if listener.channel.isActive {
            listener.channel.flush()
        }
    }

    /// Sends whatever the listener has not had yet, while its channel accepts more.
    ///
    /// A channel stops being writable when the bytes queued in NIO pass its high-water mark; the listener then
    /// stays where it is in the shared queue until it drains (`channelWritabilityChanged`) or falls out of it.
    func pump(_ listener: ListenerSession) {
        var unflushed = 0
        while let block = queue.block(listener.nextSequence), listener.channel.isWritable {
            guard listener.write(block) else { continue }
            unreportedBytes += block.bytes.readableBytes
            unflushed += 1
            if unflushed == listener.blocksPerFlush {
                listener.channel.flush()
                unflushed = 0
            }
        }
        if unflushed > 0 {
            listener.channel.flush()
        }
    }

    /// Blocks written to one listener between flushes when it is catching up (a burst). NIO keeps each channel's
    /// queue of pending writes at the largest size it ever reached; a 64 KiB burst of half-second blocks with ICY
    /// titles is 20-odd writes, which would double a listener's queue for good. A few blocks per flush keep it at
    /// its initial size; a listener at the live edge gets one block per pass, so nothing changes there.
    static let blocksPerFlush = 4

    /// Moves every listener to `destination` (the same mount's fallback, on this same loop), after handing them
    /// the rest of this mount's queue as far as their sockets take it. Blocks end on frame boundaries, so the
    /// player hears the last whole frame of this mount, then the first whole frame of the other.
    /// `keepQueue` (an admin move while this mount's source stays live) keeps the stream for later listeners.
    func moveAll(to destination: LoopBroadcaster, generation: Int, keepQueue: Bool = false) {
        continuePass(sliceSize: .max)
        for index in listeners.indices.reversed() where index < listeners.count {
            let listener = listeners[index]
            guard listener.generation <= generation else { continue }
            detach(listener, slow: false)
            destination.adopt(listener)
        }
        if !keepQueue, self.generation <= generation { queue.removeAll() }
    }

    /// Moves the listeners that asked for `homePath` to `destination` (their mount's source is back).
    func moveListeners(homedAt homePath: String, to destination: LoopBroadcaster) {
        for index in listeners.indices.reversed() where index < listeners.count {
            let listener = listeners[index]
            guard listener.homePath == homePath else { continue }
            pump(listener)
            detach(listener, slow: false)
            destination.adopt(listener)
        }
    }

    /// Takes over a listener from another mount at this mount's live edge: no audio is repeated, and the
    /// listener's player still holds what the old mount sent.
    private func adopt(_ listener: ListenerSession) {
        listener.isDetached = false
        listener.nextSequence = queue.endSequence
        listener.generation = generation
        // Another mount's stream: its header (Ogg pages, WebM elements) must be sent again, and it starts at a
        // join point.
        listener.sentHeaderID = nil
        listener.awaitsJoinPoint = true
        listener.broadcaster = self
        listener.slot = listeners.count
        listeners.append(listener)
        listenerMovedIn(listener.id)
    }

    /// Removes a listener whose channel closed.
    func remove(_ listener: ListenerSession) {
        detach(listener, slow: false)
    }

    /// Ends every listener (the source ended and nothing takes over) and forgets the stream.
    ///
    /// The pass in progress is finished first, so every listener is handed the source's last block; each
    /// connection then closes once what NIO holds for it has gone out, or after `lingerTime` for one that has
    /// stopped reading.
    /// Only listeners of `generation` (or older) end: one admitted for the next source in the meantime stays.
    func endAll(generation: Int) {
        continuePass(sliceSize: .max)
        for index in listeners.indices.reversed() where index < listeners.count {
            let listener = listeners[index]
            guard listener.generation <= generation else { continue }
            detach(listener, slow: false)
            let channel = listener.channel
            channel.writeAndFlush(ByteBuffer()).whenComplete { _ in channel.close(promise: nil) }
            eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
        }
        if self.generation <= generation { queue.removeAll() }
    }

    /// How long an ending listener may take to receive what was already written to it.
    static let lingerTime = TimeAmount.seconds(5)

    private func drop(_ listener: ListenerSession, slow: Bool) {
        detach(listener, slow: slow)
        listener.channel.close(promise: nil)
    }

    private func detach(_ listener: ListenerSession, slow: Bool) {
        guard !listener.isDetached, listener.broadcaster === self else { return }
        listener.isDetached = true
        listener.broadcaster = nil
        let last = listeners.removeLast()
        if last !== listener {
            listeners[listener.slot] = last
            last.slot = listener.slot
        }
        listenerLeft(listener.id, slow)
    }
}
