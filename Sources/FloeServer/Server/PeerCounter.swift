import Synchronization

/// Counts something per client address (connections still sending their head, listeners), for per-address limits.
///
/// Striped: an address always lands in the same one of `stripes` locked tables, so connections from different
/// addresses rarely wait for each other, and nothing is kept for an address whose count is back to zero.
final class PeerCounter: Sendable {
    private static let stripes = 16
    private final class Stripe: Sendable {
        let counts = Mutex<[String: Int]>([:])
    }
    private let tables: [Stripe] = (0..<PeerCounter.stripes).map { _ in Stripe() }

    /// Counts one more for `peer` unless it already has `limit`; `false` when refused.
    func claim(_ peer: String, limit: Int) -> Bool {
        table(peer).counts.withLock { counts in
            let current = counts[peer, default: 0]
            guard current < limit else { return false }
            counts[peer] = current + 1
            return true
        }
    }

    /// One count for one address, given back once: releasing it again does nothing.
    struct Claim {
        private let counter: PeerCounter
        private var peer: String?

        fileprivate init(counter: PeerCounter, peer: String) {
            self.counter = counter
            self.peer = peer
        }

        mutating func release() {
            guard let peer else { return }
            self.peer = nil
            counter.release(peer)
        }
    }

    /// Counts one more for `peer` unless it already has `limit`: the count to give back, or `nil` when refused.
    func claimOne(_ peer: String, limit: Int) -> Claim? {
        claim(peer, limit: limit) ? Claim(counter: self, peer: peer) : nil
    }

    /// Counts one less for `peer`.
    func release(_ peer: String) {
        table(peer).counts.withLock { counts in
            let remaining = counts[peer, default: 0] - 1
            counts[peer] = remaining > 0 ? remaining : nil
        }
    }

    private func table(_ peer: String) -> Stripe {
        // Swift's hash is seeded per process: stable for the run, not predictable from outside.
        tables[Int(UInt(bitPattern: peer.hashValue) % UInt(Self.stripes))]
    }
}
