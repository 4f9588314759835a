import FloeCore
import NIOCore
import Synchronization

/// The relays Floe runs, one ``RelaySource`` per local mount: those the configuration names, and those a master
/// server's stream list asks for (slave mode; a configured relay of the same mount wins). Each change (start,
/// SIGHUP, a new stream list) starts the relays that are new, stops those gone, and restarts those whose settings
/// changed; relays left as they were keep streaming.
final class RelayDirectory: Sendable {
    private struct State {
        var running: [String: RelaySource] = [:]
        var configured: [ServerConfiguration.Relay] = []
        var fromMaster: [ServerConfiguration.Relay] = []
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

    private func update(server: ServerContext, eventLoops: [EventLoop], _ change: (inout State) -> Void) {
        let (stopping, starting) = state.withLock { state -> ([RelaySource], [RelaySource]) in
            change(&state)
            var wanted: [String: ServerConfiguration.Relay] = [:]
            for relay in state.configured + state.fromMaster where wanted[relay.localMount] == nil {
                wanted[relay.localMount] = relay
            }
            var stopping: [RelaySource] = []
            for (path, source) in state.running where wanted[path] != source.relay {
                stopping.append(source)
                state.running[path] = nil
            }
            var starting: [RelaySource] = []
            for (path, relay) in wanted.sorted(by: { $0.key < $1.key }) where state.running[path] == nil {
                // Spread relays over the loops by mount, as file fallbacks are.
                let loop = eventLoops[Int(UInt(bitPattern: path.hashValue) % UInt(eventLoops.count))]
                let source = RelaySource(relay: relay, server: server, eventLoop: loop)
                state.running[path] = source
                starting.append(source)
            }
            return (stopping, starting)
        }
        for source in stopping { source.stop() }
        for source in starting { source.start() }
    }

    /// The relay of `path`, if there is one.
    func relay(for path: String) -> RelaySource? {
        state.withLock { $0.running[path] }
    }

    /// The relay of `path` if it yielded the mount to a live source and waits to take it back.
    func relayAwaitingMount(_ path: String) -> RelaySource? {
        relay(for: path).flatMap { $0.awaitsMount ? $0 : nil }
    }

    /// The on-demand relay that feeds `path`, if there is one.
    func onDemandRelay(for path: String) -> RelaySource? {
        state.withLock { $0.running[path] }.flatMap { $0.relay.onDemand ? $0 : nil }
    }

    /// Stops every relay (shutdown).
    func stopAll() {
        let all = state.withLock { state in
            defer { state.running.removeAll() }
            return Array(state.running.values)
        }
        for source in all { source.stop() }
    }
}
