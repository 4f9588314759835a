import FloeCore
import NIOCore
import Synchronization

/// The relays the configuration names, one ``RelaySource`` per local mount. Applying a configuration (start,
/// SIGHUP) starts the relays that are new, stops those removed, and restarts those whose settings changed;
/// relays left as they were keep streaming.
final class RelayDirectory: Sendable {
    private let running = Mutex<[String: RelaySource]>([:])

    func apply(_ configuration: ServerConfiguration, server: ServerContext, eventLoops: [EventLoop]) {
        var wanted: [String: ServerConfiguration.Relay] = [:]
        for relay in configuration.relay.relays where wanted[relay.localMount] == nil {
            wanted[relay.localMount] = relay
        }
        let (stopping, starting) = running.withLock { running -> ([RelaySource], [RelaySource]) in
            var stopping: [RelaySource] = []
            for (path, source) in running where wanted[path] != source.relay {
                stopping.append(source)
                running[path] = nil
            }
            var starting: [RelaySource] = []
            for (path, relay) in wanted.sorted(by: { $0.key < $1.key }) where running[path] == nil {
                // Spread relays over the loops by mount, as file fallbacks are.
                let loop = eventLoops[Int(UInt(bitPattern: path.hashValue) % UInt(eventLoops.count))]
                let source = RelaySource(relay: relay, server: server, eventLoop: loop)
                running[path] = source
                starting.append(source)
            }
            return (stopping, starting)
        }
        for source in stopping { source.stop() }
        for source in starting { source.start() }
    }

    /// The on-demand relay that feeds `path`, if there is one.
    func onDemandRelay(for path: String) -> RelaySource? {
        running.withLock { $0[path] }.flatMap { $0.relay.onDemand ? $0 : nil }
    }

    /// Stops every relay (shutdown).
    func stopAll() {
        let all = running.withLock { running in
            defer { running.removeAll() }
            return Array(running.values)
        }
        for source in all { source.stop() }
    }
}
