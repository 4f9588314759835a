import FloeCore
import Logging
import NIOCore
import Synchronization

/// Every mount the server knows, by path. A mount is created when its first source logs in and stays, so its
/// counters (peak listeners, slow listeners) survive source reconnects.
final class MountRegistry: Sendable {
    private let mounts = Mutex<[String: Mount]>([:])
    private let eventLoops: [EventLoop]
    private let metrics: ServerMetrics?
    private let logger: Logger?

    init(eventLoops: [EventLoop], metrics: ServerMetrics? = nil, logger: Logger? = nil) {
        self.eventLoops = eventLoops
        self.metrics = metrics
        self.logger = logger
    }

    /// The mount at `path`, if a source ever fed it.
    func mount(_ path: String) -> Mount? {
        mounts.withLock { $0[path] }
    }

    /// The mount at `path`, created with `queueCapacity` when new.
    func mountCreatingIfNeeded(_ path: String, queueCapacity: Int) -> Mount {
        mounts.withLock { mounts in
            if let mount = mounts[path] { return mount }
            let mount = Mount(
                path: path,
                eventLoops: eventLoops,
                queueCapacity: queueCapacity,
                metrics: metrics?.mountMetrics(path),
                logger: logger
            )
            mounts[path] = mount
            return mount
        }
    }

    /// All mounts, sorted by path.
    var all: [Mount] {
        mounts.withLock { $0.values.sorted { $0.path < $1.path } }
    }
}

extension MountRegistry {
    /// Icecast follows at most this many fallbacks (`MAX_FALLBACK_DEPTH`).
    static let maximumFallbackDepth = 10

    /// The mounts along `path`'s fallback chain, in order, that exist now (live or not). The chain stops at a
    /// loop (the loaders refuse loops; a guard here keeps a hand-made configuration from hanging the server).
    func fallbackChain(of path: String, configuration: ServerConfiguration) -> [Mount] {
        var seen: Set<String> = [path]
        var next = configuration.mount(path).fallbackMount
        var chain: [Mount] = []
        while let candidate = next, chain.count < Self.maximumFallbackDepth, seen.insert(candidate).inserted {
            if let mount = mount(candidate) { chain.append(mount) }
            next = configuration.mount(candidate).fallbackMount
        }
        return chain
    }

    /// The first live mount along `path`'s fallback chain: where its listeners go when it has no source.
    func liveFallback(of path: String, configuration: ServerConfiguration) -> Mount? {
        fallbackChain(of: path, configuration: configuration).first { $0.isLive }
    }
}
