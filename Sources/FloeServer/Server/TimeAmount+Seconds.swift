import NIOCore

extension TimeAmount {
    /// A configured number of seconds, clamped to [0, 30 days] so that an absurd value in a file can neither trap
    /// on overflow nor mean "never".
    static func seconds(configured seconds: Double) -> TimeAmount {
        let clamped = seconds.isFinite ? min(max(seconds, 0), 30 * 86_400) : 30 * 86_400
        return .nanoseconds(Int64(clamped * 1e9))
    }
}

extension Duration {
    /// A configured number of seconds as a `Duration`, clamped like `TimeAmount.seconds(configured:)`.
    static func seconds(configured seconds: Double) -> Duration {
        .nanoseconds(TimeAmount.seconds(configured: seconds).nanoseconds)
    }
}
