import FloeCore
import Foundation
import Logging
import NIOCore
import Synchronization

/// One configuration, as loaded (or as an admin command changed it). Immutable: a connection takes the current one
/// once, when it is accepted, and sees the same values to its end; a reload swaps in a new one in one step.
final class ConfigurationSnapshot: Sendable {
    let configuration: ServerConfiguration

    init(_ configuration: ServerConfiguration) {
        self.configuration = configuration
    }
}

/// What every connection handler needs: configuration, mounts, counters and the logger.
final class ServerContext: Sendable {
    /// Held only to read or swap the reference: nobody copies a configuration under it.
    private let current: Mutex<ConfigurationSnapshot>
    let mounts: MountRegistry
    let logger: Logger
    /// Open client connections of every kind (Icecast `<clients>` counts them all), per event loop.
    let connections: ConnectionRegistry
    /// Sources currently streaming (Icecast `<sources>`).
    let sources = Atomic<Int>(0)
    private let nextConnectionID = Atomic<Int>(1)
    /// Intro files, framed once and shared by every listener, by path as configured.
    /// A file that could not be read is remembered as `nil` (logged once) until the next reload.
    private let intros = Mutex<[String: ByteBuffer?]>([:])

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

    init(configuration: ServerConfiguration, eventLoops: [EventLoop], logger: Logger, accessLog: AccessLog? = nil) {
        self.accessLog = accessLog
        self.current = Mutex(ConfigurationSnapshot(configuration))
        self.connections = ConnectionRegistry(eventLoops: eventLoops)
        self.mounts = MountRegistry(eventLoops: eventLoops, metrics: metrics, logger: logger)
        self.logger = logger
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
            current = ConfigurationSnapshot(configuration)
        }
    }

    /// Replaces the configuration; new connections see the new values. Intro files are read again.
    func replaceConfiguration(_ configuration: ServerConfiguration) {
        current.withLock { $0 = ConfigurationSnapshot(configuration) }
        intros.withLock { $0.removeAll() }
        htpasswd.reset()
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

    // MARK: Listener users

    /// Authenticated listeners connected now, by mount and user (for `allow_duplicate_users` off).
    private let listenerUsers = Mutex<[String: Int]>([:])

    /// Counts `user` in on `mount`; `false` when that user is already listening there.
    func claimListenerUser(_ user: String, mount: String) -> Bool {
        listenerUsers.withLock { users in
            let key = mount + "\u{0}" + user
            guard users[key, default: 0] == 0 else { return false }
            users[key] = 1
            return true
        }
    }

    /// Counts `user` out of `mount`.
    func releaseListenerUser(_ user: String, mount: String) {
        listenerUsers.withLock { users in
            let key = mount + "\u{0}" + user
            users[key] = nil
        }
    }

    // MARK: Intros

    /// The frames of an intro file (relative to the web root unless absolute), read and framed on first use;
    /// `nil` when the file cannot be read or holds no MPEG audio (logged once per attempt).
    func intro(_ path: String, configuration: ServerConfiguration) -> ByteBuffer? {
        if let cached = intros.withLock({ $0[path] }) { return cached }
        let file = path.hasPrefix("/") && FileManager.default.fileExists(atPath: path)
            ? path : configuration.paths.webroot + (path.hasPrefix("/") ? path : "/" + path)
        guard let data = FileManager.default.contents(atPath: file) else {
            logger.warning("Intro file cannot be read", metadata: ["file": "\(file)"])
            intros.withLock { $0[path] = .some(nil) }
            return nil
        }
        var ingest = SourceIngest(format: .mpeg)
        var frames = ByteBuffer()
        for var block in ingest.receive(ByteBuffer(bytes: data), at: .now()) + ingest.finish(at: .now()) {
            frames.writeBuffer(&block.bytes)
        }
        guard frames.readableBytes > 0 else {
            logger.warning("Intro file holds no MPEG audio", metadata: ["file": "\(file)"])
            intros.withLock { $0[path] = .some(nil) }
            return nil
        }
        intros.withLock { $0[path] = frames }
        return frames
    }

    // MARK: Fallbacks

    /// Icecast follows at most this many fallbacks (`MAX_FALLBACK_DEPTH`).
    static let maximumFallbackDepth = 10

    /// The mounts along `path`'s fallback chain, in order, that exist now (live or not). The chain stops at a
    /// loop (the loaders refuse loops; a guard here keeps a hand-made configuration from hanging the server).
    func fallbackChain(of path: String, configuration: ServerConfiguration) -> [Mount] {
        var seen: Set<String> = [path]
        var next = configuration.mount(path).fallbackMount
        var chain: [Mount] = []
        while let candidate = next, chain.count < Self.maximumFallbackDepth, seen.insert(candidate).inserted {
            if let mount = mounts.mount(candidate) { chain.append(mount) }
            next = configuration.mount(candidate).fallbackMount
        }
        return chain
    }

    /// The first live mount along `path`'s fallback chain: where its listeners go when it has no source.
    func liveFallback(of path: String, configuration: ServerConfiguration) -> Mount? {
        fallbackChain(of: path, configuration: configuration).first { $0.isLive }
    }
}
