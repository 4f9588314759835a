import FloeCore
import Logging
import NIOCore
import Synchronization

/// Every mount the server knows, by path. A mount is created when its first source logs in. A configured mount
/// stays, so its counters (peak listeners, slow listeners) survive source reconnects; one the configuration does
/// not name is retired once it has no source, listener or speaker left (`retireUnused`), with its `/metrics`
/// series, so that sources inventing mount names cannot grow the server's memory and `/metrics` without bound.
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

    /// The mount at `path`, created with `queueCapacity` and HLS settings `hls` when new.
    func mountCreatingIfNeeded(_ path: String, queueCapacity: StreamAmount, hls: HLSConfiguration) -> Mount {
        mounts.withLock { mounts in
            if let mount = mounts[path] { return mount }
            let mount = makeMount(path, queueCapacity: queueCapacity, hls: hls)
            mounts[path] = mount
            return mount
        }
    }

    /// The mount at `path` (created when new) with a source connected to it, decided under the registry's lock,
    /// so that a mount being retired cannot take the new source with it.
    func connectSource(
        _ path: String,
        queueCapacity: StreamAmount,
        hls: HLSConfiguration,
        id: Int,
        descriptor: SourceDescriptor
    ) -> (Mount, MountStateMachine.ConnectSourceAction) {
        mounts.withLock { mounts in
            let mount = mounts[path] ?? makeMount(path, queueCapacity: queueCapacity, hls: hls)
            mounts[path] = mount
            return (mount, mount.sourceConnected(id: id, descriptor: descriptor))
        }
    }

    /// Forgets the mounts `configuration` does not name that have no source, no listener and no speaker, and
    /// removes their `/metrics` series. Returns their paths.
    @discardableResult
    func retireUnused(configuration: ServerConfiguration) -> [String] {
        // A fallback's target stays: a file fallback's mount is created before its file starts playing.
        let fallbacks = configuration.fallbackTargets
        let retired = mounts.withLock { mounts -> [Mount] in
            let unused = mounts.values.filter { mount in
                guard configuration.mounts[mount.path] == nil, !fallbacks.contains(mount.path), !mount.hasActiveOutputs
                else { return false }
                let state = mount.snapshot
                guard case .idle = state.source else { return false }
                return state.listeners == 0
            }
            for mount in unused {
                mounts[mount.path] = nil
                mount.retire()
                // Under the lock: a new mount of the same path (same series labels) cannot be created meanwhile.
                mount.metrics?.remove()
            }
            return unused
        }
        return retired.map(\.path)
    }

    private func makeMount(_ path: String, queueCapacity: StreamAmount, hls: HLSConfiguration) -> Mount {
        let mount = Mount(
            path: path,
            eventLoops: eventLoops,
            queueCapacity: queueCapacity,
            metrics: metrics?.mountMetrics(path),
            logger: logger
        )
        mount.startHLS(hls)
        return mount
    }

    /// A loop for the registry's own timers.
    var eventLoopForHousekeeping: EventLoop { eventLoops[0] }

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

    /// Ends `mount`'s source `id`: its listeners and outputs go to its live fallback (HLS only to one without a
    /// login), or, without one or when not `movingListeners`, are ended. Returns the fallback chosen.
    @discardableResult
    func endSource(id: Int, of mount: Mount, configuration: ServerConfiguration, movingListeners: Bool = true) -> Mount? {
        let fallback = movingListeners ? liveFallback(of: mount.path, configuration: configuration) : nil
        mount.sourceDisconnected(
            id: id,
            fallback: fallback,
            hlsMayFollow: fallback.map { configuration.mount($0.path).allowsHLS } ?? false
        )
        return fallback
    }
}
