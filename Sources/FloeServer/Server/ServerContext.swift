import FloeCore
import Foundation
import Logging
import NIOCore
import Synchronization

/// One configuration, as loaded (or as an admin command changed it). Immutable: a connection takes the current one
/// once, when it is accepted, and sees the same values to its end; a reload swaps in a new one in one step.
final class ConfigurationSnapshot: Sendable {
    let configuration: ServerConfiguration
    /// Trusted proxies and the `allow-ip` / `deny-ip` lists, read from their files with this configuration.
    let addressRules: AddressRules

    init(_ configuration: ServerConfiguration, addressRules: AddressRules) {
        self.configuration = configuration
        self.addressRules = addressRules
    }
}

/// What the server's connections share: the configuration snapshot, the mounts, the connection and source counts,
/// and the services that responders use (logs, metrics, htpasswd files, intros, speaker outputs). Each is its own
/// type with its own lock (or none); this class only holds them together.
final class ServerContext: Sendable {
    /// Held only to read or swap the reference: nobody copies a configuration under it.
    private let current: Mutex<ConfigurationSnapshot>
    /// The configuration as last loaded (start, reload), without the changes admin commands made since: a reload
    /// compares with it, so a mount the admin gave settings (`fallbacks`) is not taken for one the file removed.
    private let loaded: Mutex<ServerConfiguration>
    let mounts: MountRegistry
    let logger: Logger
    /// Open client connections of every kind (Icecast `<clients>` counts them all), per event loop.
    let connections: ConnectionRegistry
    /// Sources currently streaming (Icecast `<sources>`).
    let sources = SourceSlots()
    private let nextConnectionID = Atomic<Int>(1)
    /// Intro files, framed once and shared by every listener.
    let intros: IntroCache
    /// Authenticated listeners by mount and user (`allow-duplicate-users` off).
    let listenerUsers = ListenerUsers()
    /// Connections per address still sending their request head (`max-pending-per-ip`).
    let pendingPerPeer = PeerCounter()
    /// Listeners per address (`max-listeners-per-ip`), counted only when that limit is set.
    let listenersPerPeer = PeerCounter()

    /// Where connections are logged when they end, if the configuration asks for an access log.
    let accessLog: AccessLog?
    /// Counters and gauges for `/metrics`.
    let metrics = ServerMetrics()
    /// Listener authentication's htpasswd files, parsed once and re-read when they change.
    let htpasswd = HTPasswdStore()
    /// Listener counts over the last hour, for the admin page.
    let history = ListenerHistory()
    /// The mounts' speaker outputs (RTP senders, local playback).
    let speakers = SpeakerDirectory()
    /// Mounts made from other mounts by transcoding.
    let transcodes = TranscodeDirectory()
    /// The relays pulling mounts from upstream servers.
    let relays = RelayDirectory()
    /// A secret of this server run that the admin page sends with state-changing commands (see
    /// `AdminResponder.isCrossSite`).
    let adminToken: String = {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 36) }.joined()
    }()
    /// When the server started (`server_start`).
    let startedAt = Date()
    /// The port the first listen socket really bound (the configuration may say 0).
    let publicPort = Atomic<Int>(0)
    /// The certificate TLS connections are served with (loaded at start, replaced on reload).
    let tls = TLSContextStore()

    init(configuration: ServerConfiguration, eventLoops: [EventLoop], logger: Logger, accessLog: AccessLog? = nil) {
        self.accessLog = accessLog
        self.current = Mutex(
            ConfigurationSnapshot(configuration, addressRules: AddressRules(loading: configuration, logger: logger))
        )
        self.loaded = Mutex(configuration)
        self.connections = ConnectionRegistry(eventLoops: eventLoops)
        self.mounts = MountRegistry(eventLoops: eventLoops, metrics: metrics, logger: logger)
        self.logger = logger
        self.intros = IntroCache(logger: logger)
    }

    /// The configuration in force now. Each connection takes it once, when it is accepted.
    var snapshot: ConfigurationSnapshot {
        current.withLock { $0 }
    }

    /// The configuration in force now, for work outside a request (reloads, start-up, a source ending).
    var configuration: ServerConfiguration {
        snapshot.configuration
    }

    /// Changes the configuration (admin commands that act until the next reload): a new snapshot with the change.
    func updateConfiguration(_ change: (inout ServerConfiguration) -> Void) {
        current.withLock { current in
            var configuration = current.configuration
            change(&configuration)
            current = ConfigurationSnapshot(configuration, addressRules: current.addressRules)
        }
    }

    /// Replaces the configuration with one just loaded; new connections see the new values, and what admin
    /// commands changed lapses. Intro files and address files are read again. Returns the configuration loaded
    /// before.
    @discardableResult
    func replaceConfiguration(_ configuration: ServerConfiguration) -> ServerConfiguration {
        let rules = AddressRules(loading: configuration, logger: logger)
        current.withLock { $0 = ConfigurationSnapshot(configuration, addressRules: rules) }
        intros.reset()
        htpasswd.reset()
        return loaded.withLock { loaded in
            defer { loaded = configuration }
            return loaded
        }
    }

    /// A number unique to this server run, for connections and sources.
    func makeConnectionID() -> Int {
        nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
