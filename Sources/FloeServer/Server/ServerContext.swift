import FloeCore
import Logging
import NIOCore
import Synchronization

/// What every connection handler needs: configuration, mounts, counters and the logger.
final class ServerContext: Sendable {
    private let configurationBox: Mutex<ServerConfiguration>
    let mounts: MountRegistry
    let logger: Logger
    /// Open client connections of every kind (Icecast `<clients>` counts them all).
    let connections = Atomic<Int>(0)
    /// Sources currently streaming (Icecast `<sources>`).
    let sources = Atomic<Int>(0)
    private let nextConnectionID = Atomic<Int>(1)

    init(configuration: ServerConfiguration, eventLoops: [EventLoop], logger: Logger) {
        self.configurationBox = Mutex(configuration)
        self.mounts = MountRegistry(eventLoops: eventLoops)
        self.logger = logger
    }

    /// The configuration in force now. Each connection reads it once when its request arrives.
    var configuration: ServerConfiguration {
        configurationBox.withLock { $0 }
    }

    /// Replaces the configuration; new connections see the new values.
    func replaceConfiguration(_ configuration: ServerConfiguration) {
        configurationBox.withLock { $0 = configuration }
    }

    /// A number unique to this server run, for connections and sources.
    func makeConnectionID() -> Int {
        nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Claims one of the `<sources>` slots; `false` when all are taken.
    func claimSourceSlot(limit: Int) -> Bool {
        var current = sources.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = sources.compareExchange(
                expected: current,
                desired: current + 1,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
        return false
    }

    func releaseSourceSlot() {
        sources.wrappingSubtract(1, ordering: .relaxed)
    }
}
