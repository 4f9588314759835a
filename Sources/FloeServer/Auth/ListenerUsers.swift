import Synchronization

/// Authenticated listeners connected now, by mount and user, for `allow-duplicate-users` off: a user listens to a
/// mount at most once at a time. Touched twice per authenticated listener (in and out), never per byte.
final class ListenerUsers: Sendable {
    private let users = Mutex<Set<String>>([])

    /// Counts `user` in on `mount`; `false` when that user is already listening there.
    func claim(_ user: String, mount: String) -> Bool {
        users.withLock { $0.insert(mount + "\u{0}" + user).inserted }
    }

    /// Counts `user` out of `mount`.
    func release(_ user: String, mount: String) {
        users.withLock { _ = $0.remove(mount + "\u{0}" + user) }
    }
}
