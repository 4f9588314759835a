/// An amount of stream, in bytes or in play time: how much a new listener is sent at once (the burst) and how much
/// a mount keeps (the queue, beyond which a listener that fell behind is dropped).
///
/// Bytes are Icecast's `burst-size` and `queue-size`. Play time is Floe's `burst-duration` and `queue-duration`:
/// 64 KiB is 4 s at 128 kbit/s but 1.6 s at 320 kbit/s, so only a duration gives listeners of every mount the
/// same start delay.
public enum StreamAmount: Sendable, Equatable {
    case bytes(Int)
    case duration(Duration)

    /// The amount a mount uses, given its own setting and the global one, each possibly set both ways. The more
    /// specific level wins (the mount's own over the global); within one level, a duration wins over bytes.
    public static func resolve(mountDuration: Double?, mountBytes: Int?, globalDuration: Double?, globalBytes: Int) -> StreamAmount {
        if let seconds = mountDuration { return .duration(clamped(seconds)) }
        if let bytes = mountBytes { return .bytes(bytes) }
        if let seconds = globalDuration { return .duration(clamped(seconds)) }
        return .bytes(globalBytes)
    }

    /// The loaders allow at most `maximumSeconds`; a model built in code is held to it too.
    private static func clamped(_ seconds: Double) -> Duration {
        .milliseconds(Int64((min(max(seconds, 0), maximumSeconds) * 1000).rounded()))
    }

    /// The longest burst or queue, in seconds (a day).
    public static let maximumSeconds = 86_400.0

    /// Whether the amount is nothing (a burst of zero: start at the live edge).
    public var isZero: Bool {
        switch self {
        case .bytes(let bytes): return bytes <= 0
        case .duration(let duration): return duration <= .zero
        }
    }
}
