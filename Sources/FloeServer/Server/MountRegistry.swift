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
