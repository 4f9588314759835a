import FloeCore
import NIOCore
import Synchronization

/// The relays Floe runs: those the configuration names, and those a master server's stream list asks for (slave
/// mode; a configured relay of the same mount wins). Each change (start, SIGHUP, a new stream list) starts the
/// relays that are new, stops those gone, and restarts those whose settings changed; relays left as they were
/// keep streaming.
///
/// Relays of the same upstream stream (the same upstreams, credentials and settings) share one connection: one
/// ``RelaySource`` pulls it for the first of their local mounts and feeds the others as mirrors, the same blocks
/// framed once. A relay that yields to live sources is never shared (its mount can leave the group at any time).
final class RelayDirectory: Sendable {
    private struct State {
        /// By the local mount each serves: a shared relay appears under each of its mounts.
        var running: [String: RelaySource] = [:]
        var configured: [ServerConfiguration.Relay] = []
        var fromMaster: [ServerConfiguration.Relay] = []
    }

    /// What relays must agree on to share a connection: everything but the local mount.
    private struct SharingKey: Hashable {
        var upstreams: [String]
        var onDemand: Bool
        var relayMetadata: Bool
        var hold: Double
        var onDemandLinger: Double

        init?(_ relay: ServerConfiguration.Relay) {
            guard !relay.yieldsToSource else { return nil }
            upstreams = relay.upstreams.map { "\($0.url)\u{0}\($0.username ?? "")\u{0}\($0.password ?? "")" }
            onDemand = relay.onDemand
            relayMetadata = relay.relayMetadata
            hold = relay.hold
            onDemandLinger = relay.onDemandLinger
        }
    }

    private let state = Mutex(State())

    /// The configuration's relays (start and reload).
    func apply(_ configuration: ServerConfiguration, server: ServerContext, eventLoops: [EventLoop]) {
        update(server: server, eventLoops: eventLoops) { $0.configured = configuration.relay.relays }
    }

    /// The relays the master's stream list asks for now.
    func setMasterRelays(_ relays: [ServerConfiguration.Relay], server: ServerContext, eventLoops: [EventLoop]) {
        update(server: server, eventLoops: eventLoops) { $0.fromMaster = relays }
    }

    /// The local mounts relayed from the master now.
    var masterMounts: Set<String> {
        state.withLock { Set($0.fromMaster.map(\.localMount)) }
    }

    /// The relays wanted, one per local mount, grouped: each group's first relay pulls, the others mirror it.
    private static func groups(_ state: State) -> [(relay: ServerConfiguration.Relay, mirrors: [String])] {
        var wanted: [String: ServerConfiguration.Relay] = [:]
        for relay in state.configured + state.fromMaster where wanted[relay.localMount] == nil {
            wanted[relay.localMount] = relay
        }
        var groups: [(relay: ServerConfiguration.Relay, mirrors: [String])] = []
        var groupOfKey: [SharingKey: Int] = [:]
        for (path, relay) in wanted.sorted(by: { $0.key < $1.key }) {
            if let key = SharingKey(relay), let index = groupOfKey[key] {
                groups[index].mirrors.append(path)
                continue
            }
            if let key = SharingKey(relay) { groupOfKey[key] = groups.count }
            groups.append((relay, []))
        }
        return groups
    }

    private func update(server: ServerContext, eventLoops: [EventLoop], _ change: (inout State) -> Void) {
        let (stopping, starting) = state.withLock { state -> ([RelaySource], [RelaySource]) in
            change(&state)
            let groups = Self.groups(state)
            var kept: [String: RelaySource] = [:]
            var starting: [RelaySource] = []
            for group in groups {
                let path = group.relay.localMount
                if let source = state.running[path], source.relay == group.relay {
                    // The same relay: it keeps streaming; only the mounts sharing its stream may change.
                    if source.mirrorPaths != group.mirrors { source.setMirrors(group.mirrors) }
                    kept[path] = source
                } else {
                    // Spread relays over the loops by mount, as file fallbacks are.
                    let loop = eventLoops[Int(UInt(bitPattern: path.hashValue) % UInt(eventLoops.count))]
                    let source = RelaySource(relay: group.relay, mirrorPaths: group.mirrors, server: server, eventLoop: loop)
                    kept[path] = source
                    starting.append(source)
                }
                for mirror in group.mirrors { kept[mirror] = kept[path] }
            }
            let stopping = Self.distinct(state.running).filter { source in !kept.values.contains { $0 === source } }
            state.running = kept
            return (stopping, starting)
        }
        for source in stopping { source.stop() }
        for source in starting { source.start() }
    }

    /// The relay that serves `path` (pulling it, or feeding it as a mirror), if there is one.
    func relay(for path: String) -> RelaySource? {
        state.withLock { $0.running[path] }
    }

    /// The relay of `path` if it yielded the mount to a live source and waits to take it back.
    func relayAwaitingMount(_ path: String) -> RelaySource? {
        relay(for: path).flatMap { $0.awaitsMount && $0.relay.localMount == path ? $0 : nil }
    }

    /// The on-demand relay that serves `path`, if there is one.
    func onDemandRelay(for path: String) -> RelaySource? {
        relay(for: path).flatMap { $0.relay.onDemand ? $0 : nil }
    }

    /// Stops every relay (shutdown).
    func stopAll() {
        let all = state.withLock { state in
            defer { state.running.removeAll() }
            return Self.distinct(state.running)
        }
        for source in all { source.stop() }
    }

    /// Each relay once (a shared one is listed under each of its mounts).
    private static func distinct(_ running: [String: RelaySource]) -> [RelaySource] {
        var byIdentity: [ObjectIdentifier: RelaySource] = [:]
        for source in running.values { byIdentity[ObjectIdentifier(source)] = source }
        return Array(byIdentity.values)
    }
}
