/// Which upstream a relay connects to next, and after how long: the relay's retry policy, without I/O.
///
/// Upstreams are tried in priority order. A failure (no connection, an error status, a stall, or a stream that
/// ended) moves on to the next upstream at once; when every upstream has failed in a row, the relay waits before
/// the next round: 1 s, then twice as long each round, at most 30 s, each spread by ±20 % of jitter so that many
/// edges losing one origin do not come back at the same instant. A stream that played resets the wait.
public struct RelaySchedule: Sendable, Equatable {
    /// The wait after the first failed round.
    public static let initialDelay = Duration.seconds(1)
    /// The longest wait between rounds.
    public static let maximumDelay = Duration.seconds(30)

    public let upstreamCount: Int
    /// The upstream to connect to now (0: the first configured).
    public private(set) var current = 0
    /// Rounds in a row in which every upstream failed.
    public private(set) var failedRounds = 0

    public init(upstreamCount: Int) {
        precondition(upstreamCount > 0, "a relay needs an upstream")
        self.upstreamCount = upstreamCount
    }

    /// The current upstream delivered audio: the next failure starts over with the shortest wait.
    public mutating func streamed() {
        failedRounds = 0
    }

    /// A higher-priority upstream came back and plays now: failures go on from there.
    public mutating func switchTo(upstream index: Int) {
        precondition(index >= 0 && index < upstreamCount, "no such upstream")
        current = index
        failedRounds = 0
    }

    /// The current upstream failed or its stream ended. Returns the upstream to try next and the wait before
    /// connecting; `jitter` (in 0..<1, random in use) places the wait within ±20 %.
    public mutating func failed(jitter: Double) -> (upstream: Int, delay: Duration) {
        current = (current + 1) % upstreamCount
        guard current == 0 else { return (current, .zero) }
        failedRounds += 1
        let doublings = min(failedRounds - 1, 5)
        let base = min(Self.initialDelay * (1 << doublings), Self.maximumDelay)
        return (current, base * (0.8 + 0.4 * min(max(jitter, 0), 1)))
    }
}
