import Foundation
import NIOCore
import Synchronization

/// Every listener connected now, by connection id, with what admin tools show (`/admin/listclients`) and a way
/// to disconnect it (`/admin/killclient`). Updated when a listener arrives, moves to another mount or leaves.
final class ListenerDirectory: Sendable {
    struct Entry: Sendable {
        var id: Int
        var mount: String
        var peer: String
        var userAgent: String?
        var user: String?
        var connectedAt: Date
        var channel: Channel
    }

    private let entries = Mutex<[Int: Entry]>([:])

    func add(_ entry: Entry) {
        entries.withLock { $0[entry.id] = entry }
    }

    func remove(_ id: Int) {
        entries.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Records that listener `id` now hears `mount` (a fallback move).
    func move(_ id: Int, to mount: String) {
        entries.withLock { $0[id]?.mount = mount }
    }

    func listeners(of mount: String) -> [Entry] {
        entries.withLock { $0.values.filter { $0.mount == mount }.sorted { $0.id < $1.id } }
    }

    func entry(_ id: Int) -> Entry? {
        entries.withLock { $0[id] }
    }
}
