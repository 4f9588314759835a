import Synchronization

/// Icecast's `<sources>` limit: how many sources stream now, claimed at login and released at the end.
final class SourceSlots: Sendable {
    private let count = Atomic<Int>(0)

    /// Sources streaming now.
    var current: Int { count.load(ordering: .relaxed) }

    /// Claims a slot; `false` when all `limit` are taken.
    func claim(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}
