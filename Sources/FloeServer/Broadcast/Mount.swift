import FloeCore
import NIOCore
import NIOConcurrencyHelpers
import Synchronization

/// A mount point: its state machine behind a lock, and one `LoopBroadcaster` per event loop.
///
/// The lock guards admission, source changes and title updates — events counted per connection, not per byte.
/// Stream bytes never take it except once per published block (to number it and stamp the current title).
final class Mount: Sendable {
    let path: String
    private let state: NIOLockedValueBox<MountStateMachine>
    private let nextSequence = Mutex(0)
    /// One broadcaster per event loop, each reachable only on its own loop.
    private let broadcasters: [(eventLoop: EventLoop, box: NIOLoopBoundBox<LoopBroadcaster>)]

    init(path: String, eventLoops: [EventLoop], queueCapacity: Int) {
        self.path = path
        let state = NIOLockedValueBox(MountStateMachine())
        self.state = state
        self.broadcasters = eventLoops.map { loop in
            let broadcaster = LoopBroadcaster(eventLoop: loop, queueCapacity: queueCapacity) { _, slow in
                state.withLockedValue { $0.listenerLeft(slow: slow) }
            }
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

    /// Ends the source `id`; its listeners are closed on their own loops.
    func sourceDisconnected(id: Int) {
        state.withLockedValue { state in
            switch state.sourceDisconnected(id: id) {
            case .ignore:
                return
            case .endListeners:
                // Enqueued under the lock so that a new source's first block cannot overtake the cleanup.
                for bound in broadcasters {
                    bound.eventLoop.execute { bound.box.value.endAll() }
                }
            }
        }
    }

    /// Numbers a block, stamps it with the current title and hands it to every loop.
    func publish(_ output: SourceIngest.Output) {
        let (sequence, metadata) = nextSequence.withLock { next in
            defer { next += 1 }
            return (next, state.withLockedValue { $0.metadata })
        }
        let block = StreamBlock(sequence: sequence, bytes: output.bytes, metadata: metadata, frames: output.frames)
        for bound in broadcasters {
            bound.eventLoop.execute { bound.box.value.publish(block) }
        }
    }

    // MARK: Listeners and metadata

    func listenerArrived(maxListeners: Int?) -> MountStateMachine.AdmitListenerAction {
        state.withLockedValue { $0.listenerArrived(maxListeners: maxListeners) }
    }

    func listenerLeftBeforeStreaming() {
        state.withLockedValue { $0.listenerLeft(slow: false) }
    }

    func metadataUpdated(_ update: MetadataUpdate) -> MountStateMachine.MetadataAction {
        state.withLockedValue { $0.metadataUpdated(update) }
    }
}
