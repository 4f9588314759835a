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
    /// Called (on this loop) when a listener leaves; `slow` when it was dropped for falling behind.
    private let listenerLeft: @Sendable (_ id: Int, _ slow: Bool) -> Void

    init(eventLoop: EventLoop, queueCapacity: Int, listenerLeft: @escaping @Sendable (Int, Bool) -> Void) {
        self.eventLoop = eventLoop
        self.queue = BroadcastQueue(capacityBytes: queueCapacity)
        self.listenerLeft = listenerLeft
    }

    var listenerCount: Int { listeners.count }

    /// Adds a block at the live edge, drops listeners that fell out of the queue, and sends to the rest.
    func publish(_ block: StreamBlock) {
        if !queue.isEmpty, block.sequence != queue.endSequence {
            // A gap means the mount restarted its sequence (a new source after a reset); start afresh.
            queue.removeAll()
        }
        queue.append(block)
        for index in listeners.indices.reversed() where index < listeners.count {
            let listener = listeners[index]
            if listener.nextSequence < queue.firstSequence {
                drop(listener, slow: true)
            } else {
                pump(listener)
            }
        }
    }

    /// Starts a listener `burstBytes` behind the live edge (on a block, hence frame, boundary) and sends the
    /// burst at once, so the first bytes go out in the same loop tick as the response head.
    func add(_ listener: ListenerSession, burstBytes: Int) {
        listener.nextSequence = queue.burstStart(burstBytes: burstBytes)
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
        var wrote = false
        while let block = queue.block(listener.nextSequence), listener.channel.isWritable {
            listener.write(block)
            wrote = true
        }
        if wrote {
            listener.channel.flush()
        }
    }

    /// Removes a listener whose channel closed.
    func remove(_ listener: ListenerSession) {
        detach(listener, slow: false)
    }

    /// Closes every listener (the source ended and nothing takes over) and forgets the stream.
    func endAll() {
        while let listener = listeners.last {
            detach(listener, slow: false)
            listener.channel.close(promise: nil)
        }
        queue.removeAll()
    }

    private func drop(_ listener: ListenerSession, slow: Bool) {
        detach(listener, slow: slow)
        listener.channel.close(promise: nil)
    }

    private func detach(_ listener: ListenerSession, slow: Bool) {
        guard !listener.isDetached else { return }
        listener.isDetached = true
        let last = listeners.removeLast()
        if last !== listener {
            listeners[listener.slot] = last
            last.slot = listener.slot
        }
        listenerLeft(listener.id, slow)
    }
}
