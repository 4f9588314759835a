import NIOCore

/// The media clock of one source: when each frame plays, and whether the source keeps real time.
///
/// Media time is the sum of frame durations (samples ÷ sample rate), kept exactly in samples so hours of
/// 44.1 kHz audio do not drift by rounding. It is anchored to wall time at the first frame: frame *n* is due at
/// `anchor + mediaTime(n)`. Comparing that with arrival time tells whether the source sends faster than real
/// time (a burst, or an encoder without pacing), slower (an encoder or network that cannot keep up), or on time.
///
/// Time is an input: every method takes `now`, so the clock is tested with plain numbers.
public struct FrameClock: Sendable {
    /// How far arrival may run ahead of or behind media time before the pace is reported as fast or slow.
    public var tolerance: Duration

    /// Wall time of the first frame; `nil` until one arrives.
    public private(set) var anchor: NIODeadline?
    /// Frames recorded (audio frames only; Xing/Info frames carry no samples).
    public private(set) var frameCount: Int = 0
    /// Bytes of recorded frames.
    public private(set) var byteCount: Int = 0
    /// Sample rate of the most recent frame.
    public private(set) var sampleRate: Int = 0

    /// Media time accumulated before the current sample rate began, plus samples at the current rate.
    private var completedMediaTime: Duration = .zero
    private var samplesAtCurrentRate: Int64 = 0

    public init(tolerance: Duration = .seconds(2)) {
        self.tolerance = tolerance
    }

    /// Total media time recorded so far: the end of the last frame.
    public var mediaTime: Duration {
        completedMediaTime + Self.duration(samples: samplesAtCurrentRate, sampleRate: sampleRate)
    }

    /// Records a frame that arrived at `now` and returns when it plays.
    public mutating func record(samples: Int, sampleRate: Int, bytes: Int, at now: NIODeadline) -> FrameTime {
        if anchor == nil { anchor = now }
        if sampleRate != self.sampleRate {
            completedMediaTime = mediaTime
            samplesAtCurrentRate = 0
            self.sampleRate = sampleRate
        }
        let start = mediaTime
        samplesAtCurrentRate += Int64(samples)
        frameCount += 1
        byteCount += bytes
        let duration = Self.duration(samples: Int64(samples), sampleRate: sampleRate)
        return FrameTime(mediaTime: start, duration: duration, deadline: anchor! + .nanoseconds(start.nanoseconds))
    }

    /// Media time minus wall time since the anchor: positive when the source is ahead of real time.
    public func lead(at now: NIODeadline) -> Duration {
        guard let anchor else { return .zero }
        let wall = Duration.nanoseconds(now.uptimeNanoseconds) - .nanoseconds(anchor.uptimeNanoseconds)
        return mediaTime - wall
    }

    /// Whether the source is keeping real time, judged against `tolerance`.
    public func pace(at now: NIODeadline) -> Pace {
        let lead = lead(at: now)
        if lead > tolerance { return .fast }
        if lead < .zero - tolerance { return .slow }
        return .realTime
    }

    /// Like `pace(at:)`, with hysteresis: once fast (or slow), the source counts as back to real time only when
    /// its lead is within half the tolerance. A source hovering at the threshold does not flap between states.
    public func pace(at now: NIODeadline, previous: Pace) -> Pace {
        let lead = lead(at: now)
        let half = tolerance / 2
        switch previous {
        case .fast where lead > half: return .fast
        case .slow where lead < .zero - half: return .slow
        default: return pace(at: now)
        }
    }

    /// Media seconds per wall second since the anchor (1.0 is real time); `nil` before any time has passed.
    public func realTimeRatio(at now: NIODeadline) -> Double? {
        guard let anchor, now > anchor else { return nil }
        let wall = Double(now.uptimeNanoseconds - anchor.uptimeNanoseconds) / 1e9
        return mediaTime.seconds / wall
    }

    /// Bits per media second over everything recorded; `nil` before any media time.
    public var measuredBitrate: Int? {
        let seconds = mediaTime.seconds
        guard seconds > 0 else { return nil }
        return Int((Double(byteCount * 8) / seconds).rounded())
    }

    static func duration(samples: Int64, sampleRate: Int) -> Duration {
        guard sampleRate > 0 else { return .zero }
        let rate = Int64(sampleRate)
        let whole = samples / rate
        let remainder = samples % rate
        return .seconds(whole) + .nanoseconds(remainder * 1_000_000_000 / rate)
    }
}

extension FrameClock {
    /// A source's pace relative to real time.
    public enum Pace: String, Sendable, Equatable {
        case realTime = "real-time"
        case fast
        case slow
    }

    /// When a frame plays.
    public struct FrameTime: Sendable, Equatable {
        /// Media time of the frame's first sample.
        public var mediaTime: Duration
        /// The frame's play time.
        public var duration: Duration
        /// Wall time at which the frame is due, by the clock's anchor.
        public var deadline: NIODeadline
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at the 292-year limit of Int64 nanoseconds: media time comes from what a
    /// source says (granule positions, timecodes), and a hostile one must not make it trap.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, carry) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return carry ? (seconds < 0 ? .min : .max) : total
    }

    /// Seconds as a floating-point number, for rates and reports.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
