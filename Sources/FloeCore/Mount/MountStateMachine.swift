/// The life of one mount: whether a source feeds it, how many listeners it has, and its current title.
///
/// A pure state machine: each event returns the action the server must carry out, and the server only switches
/// on it. Where listeners go when a source ends (a fallback, or nowhere) involves other mounts, so
/// `sourceDisconnected` only says that they must go and the server resolves the fallback chain.
public struct MountStateMachine: Sendable {
    /// Whether a source feeds the mount.
    public enum SourceState: Sendable, Equatable {
        case idle
        case live(LiveSource)
    }

    /// The source currently feeding the mount.
    public struct LiveSource: Sendable, Equatable {
        /// Unique per connection, so a late disconnect from an old source cannot end a new one.
        public var id: Int
        public var descriptor: SourceDescriptor
    }

    public private(set) var source: SourceState = .idle
    /// Listeners currently attached.
    public private(set) var listeners: Int = 0
    /// Most listeners seen at once.
    public private(set) var listenerPeak: Int = 0
    /// Listeners dropped for falling more than the queue size behind.
    public private(set) var slowListeners: Int = 0
    /// The title listeners receive.
    public private(set) var metadata: ICYMetadata = .empty
    /// Counts the sources the mount has had. Blocks and listeners carry it, so the end of one source, still on its
    /// way to an event loop, cannot touch the listeners of the next.
    public private(set) var generation: Int = 0

    public init() {}

    // MARK: Sources

    public enum ConnectSourceAction: Sendable, Equatable {
        /// The source now feeds the mount; reset the broadcast queue and start.
        case accept
        /// Another source feeds the mount: 403 `Mountpoint in use`.
        case rejectMountInUse
    }

    public mutating func sourceConnected(id: Int, descriptor: SourceDescriptor) -> ConnectSourceAction {
        guard case .idle = source else { return .rejectMountInUse }
        source = .live(LiveSource(id: id, descriptor: descriptor))
        generation += 1
        metadata = ICYMetadata(version: metadata.version + 1, title: "")!
        return .accept
    }

    /// A relay continued the mount's source from another upstream stream: its headers (and upstream) replace the
    /// old ones; the start time stays. Returns `false` when `id` no longer feeds the mount.
    public mutating func sourceDescriptorChanged(id: Int, to descriptor: SourceDescriptor) -> Bool {
        guard case .live(var live) = source, live.id == id else { return false }
        let connectedAt = live.descriptor.connectedAt
        live.descriptor = descriptor
        live.descriptor.connectedAt = connectedAt
        source = .live(live)
        return true
    }

    /// Source `from` gives the mount to source `to` with no pause: a live source taking a relayed mount over, or
    /// the relay taking it back when that source leaves. Listeners stay, in the same generation (the new source's
    /// blocks continue their queues, as a relay's next upstream does); the title starts empty. Returns `false`
    /// when `from` no longer feeds the mount.
    public mutating func sourceHandedOver(from: Int, to: Int, descriptor: SourceDescriptor) -> Bool {
        guard case .live(let live) = source, live.id == from else { return false }
        source = .live(LiveSource(id: to, descriptor: descriptor))
        metadata = ICYMetadata(version: metadata.version + 1, title: "")!
        return true
    }

    /// Whether source `id` feeds the mount now. Blocks of a source that handed the mount over, still on their
    /// way, are dropped by this test.
    public func isFed(by id: Int) -> Bool {
        guard case .live(let live) = source else { return false }
        return live.id == id
    }

    public enum DisconnectSourceAction: Sendable, Equatable {
        /// Move the listeners (or close them when no fallback can take them): the server resolves the fallback
        /// chain, which involves other mounts.
        case endListeners
        /// The disconnect belongs to a source that no longer feeds the mount.
        case ignore
    }

    public mutating func sourceDisconnected(id: Int) -> DisconnectSourceAction {
        guard case .live(let live) = source, live.id == id else { return .ignore }
        source = .idle
        return .endListeners
    }

    // MARK: Listeners

    public enum AdmitListenerAction: Sendable, Equatable {
        /// Serve the listener with this source's headers.
        case admit(SourceDescriptor)
        /// 404: nothing feeds the mount.
        case rejectNoSource
        /// 403 `max listeners reached`.
        case rejectFull
    }

    /// A listener asks to join. With `counting: false` (a `HEAD` request) the answer is the same but nobody joins.
    public mutating func listenerArrived(maxListeners: Int?, counting: Bool = true) -> AdmitListenerAction {
        guard case .live(let live) = source else { return .rejectNoSource }
        if let maxListeners, listeners >= maxListeners { return .rejectFull }
        guard counting else { return .admit(live.descriptor) }
        listeners += 1
        listenerPeak = max(listenerPeak, listeners)
        return .admit(live.descriptor)
    }

    /// A listener arrived from another mount (a fallback move); limits do not apply to moves.
    public mutating func listenerMovedIn() {
        listeners += 1
        listenerPeak = max(listenerPeak, listeners)
    }

    public enum ListenerLeftAction: Sendable, Equatable {
        /// Counted out.
        case counted
        /// More listeners left than arrived: a bookkeeping fault elsewhere. The count stays at zero (repaired);
        /// the server logs it and carries on, since one wrong count must never stop every other listener.
        case countRepaired
    }

    /// A listener left; `slow` when it was dropped for falling behind.
    @discardableResult
    public mutating func listenerLeft(slow: Bool) -> ListenerLeftAction {
        if slow { slowListeners += 1 }
        guard listeners > 0 else { return .countRepaired }
        listeners -= 1
        return .counted
    }

    // MARK: Metadata

    public enum MetadataAction: Sendable, Equatable {
        /// New blocks carry this title from now on.
        case updated(ICYMetadata)
        /// 400 `Source does not exist`.
        case rejectNoSource
        /// The title does not fit in an ICY block; Icecast drops it with "Metadata too long".
        case rejectTooLong
    }

    public mutating func metadataUpdated(_ update: MetadataUpdate) -> MetadataAction {
        guard case .live = source else { return .rejectNoSource }
        guard let next = ICYMetadata(version: metadata.version + 1, title: update.title) else { return .rejectTooLong }
        metadata = next
        return .updated(next)
    }
}
