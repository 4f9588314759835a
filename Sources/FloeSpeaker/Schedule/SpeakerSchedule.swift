import FloeCore
import NIOCore

/// One MP3 frame on its way to a speaker output.
public struct SpeakerFrame: Sendable, Equatable {
    /// The whole frame, header included.
    public var bytes: ByteBuffer
    /// Samples per channel (1152 for MPEG-1 Layer III).
    public var samples: Int
    public var sampleRate: Int

    public init(bytes: ByteBuffer, samples: Int, sampleRate: Int) {
        self.bytes = bytes
        self.samples = samples
        self.sampleRate = sampleRate
    }
}

/// When a speaker output plays each frame: a jitter buffer in front of a clock that counts output samples.
///
/// The speaker's clock is a 64-bit count of units at `clockRate` (sample frames of the output's PCM, or 90 kHz
/// ticks for RTP MPA), anchored to wall time when the first frame plays: position *p* is due at
/// `anchor + p / clockRate`. It never restarts, so timing runs on across source changes and idle periods.
///
/// - A frame waits `jitterBuffer` after arriving at an idle (or stalled) output before the clock plays it; after
///   that, frames play back to back, each when the clock reaches it, however fast they arrived. Audio buffered
///   beyond `jitterBuffer + maximumBuffer` is dropped, oldest first: a source faster than real time is never
///   played faster.
/// - When the buffer runs dry at a frame's due time (the source is late or stalled), the output is in a gap: in
///   `.silence` mode it plays silence on the clock; in `.pause` mode it plays nothing, and when audio resumes the
///   clock's position is wherever wall time has taken it (the RTP timestamp jumps by the gap) and the first frame
///   starts a talkspurt (the RTP marker bit).
/// - When the mount's source has ended and everything buffered has played, the schedule says `.stop` (close the
///   device) and goes idle.
///
/// Time is an input: ``nextAction(at:)`` takes `now`, so tests drive the schedule with plain numbers. The caller
/// repeats ``nextAction(at:)`` until it answers `.wait` or `.sleep`.
public struct SpeakerSchedule: Sendable {
    public struct Settings: Sendable {
        /// Units per second of the clock: the output's sample rate, or 90 000 for RTP MPA.
        public var clockRate: Int
        public var jitterBuffer: Duration
        public var maximumBuffer: Duration
        public var gaps: SpeakerOutputConfiguration.GapMode
        /// How far ahead of its due time a frame is handed over: a sound device needs audio in its buffer before
        /// it plays it; a network sender needs none.
        public var lead: Duration
        /// Units of silence per `.silence` action.
        public var silenceChunk: Int64

        public init(
            clockRate: Int,
            jitterBuffer: Duration = .milliseconds(200),
            maximumBuffer: Duration = .seconds(5),
            gaps: SpeakerOutputConfiguration.GapMode = .pause,
            lead: Duration = .zero,
            silenceChunk: Int64? = nil
        ) {
            self.clockRate = clockRate
            self.jitterBuffer = jitterBuffer
            self.maximumBuffer = maximumBuffer
            self.gaps = gaps
            self.lead = lead
            self.silenceChunk = silenceChunk ?? Int64(clockRate / 40)
        }
    }

    public enum Action: Sendable, Equatable {
        /// Play `frame` at clock position `position`; `startsTalkspurt` after nothing was played (the first frame,
        /// and the first after a paused gap).
        case play(SpeakerFrame, position: Int64, startsTalkspurt: Bool)
        /// Play `length` units of silence from `position`.
        case silence(position: Int64, length: Int64)
        /// Call again at `until` (or sooner, when a frame arrives).
        case wait(until: NIODeadline)
        /// Nothing to do until a frame arrives.
        case sleep
        /// The source has ended and everything has played: release the device.
        case stop
    }

    public enum State: String, Sendable, Equatable {
        /// Nothing to play and no source.
        case idle
        /// Filling the jitter buffer before playing.
        case buffering
        case playing
        /// The source is late or stalled.
        case gap
    }

    public let settings: Settings
    public private(set) var state: State = .idle
    /// The clock position of the next unit to play.
    public private(set) var position: Int64 = 0
    /// Wall time of position 0; set when the first frame plays.
    public private(set) var anchor: NIODeadline?

    /// Counters for status and metrics.
    public private(set) var framesPlayed = 0
    public private(set) var framesDropped = 0
    public private(set) var underruns = 0

    private var buffer: [SpeakerFrame] = []
    private var bufferHead = 0
    private var bufferedUnits: Int64 = 0
    /// When the jitter buffer started filling, while `.buffering`.
    private var bufferingUntil: NIODeadline?
    /// Whether the next frame played starts a talkspurt.
    private var startsTalkspurt = true
    /// Whether the source has ended (the buffer plays out, then the output stops).
    private var sourceEnded = false
    /// Remainder of converting the last frames' samples to clock units, and the rate it belongs to.
    private var conversionRemainder: Int64 = 0
    private var conversionRate = 0

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Frames waiting to play.
    public var bufferedFrames: Int { buffer.count - bufferHead }

    /// Audio waiting to play.
    public var bufferedDuration: Duration {
        .nanoseconds(bufferedUnits * 1_000_000_000 / Int64(settings.clockRate))
    }

    /// A frame arrived at `now`.
    public mutating func enqueue(_ frame: SpeakerFrame, at now: NIODeadline) {
        guard frame.samples > 0, frame.sampleRate > 0 else { return }
        sourceEnded = false
        buffer.append(frame)
        bufferedUnits += approximateUnits(frame)
        let limit = units(settings.jitterBuffer + settings.maximumBuffer)
        while bufferedUnits > limit, bufferedFrames > 1 {
            bufferedUnits -= approximateUnits(popFrame())
            framesDropped += 1
        }
        switch state {
        case .idle, .gap:
            state = .buffering
            // Audio is handed over `lead` early; waiting that much longer keeps the whole jitter buffer as margin.
            bufferingUntil = now + .nanoseconds(settings.jitterBuffer.nanoseconds + settings.lead.nanoseconds)
        case .buffering, .playing:
            break
        }
    }

    /// The mount's source ended and nothing took over: play what is buffered, then stop.
    public mutating func endOfSource() {
        sourceEnded = true
    }

    /// What to do at `now`.
    public mutating func nextAction(at now: NIODeadline) -> Action {
        switch state {
        case .idle:
            // A source that ended before anything played still ends: the caller is told, and nothing waits.
            return sourceEnded ? stop() : .sleep
        case .buffering:
            if let silence = silenceDue(at: now) { return silence }
            let until = bufferingUntil ?? now
            guard now >= until else { return .wait(until: earliest(until, nextSilence)) }
            start(at: now)
            return nextAction(at: now)
        case .playing:
            let due = deadline(of: position)
            let handOver = due - .nanoseconds(settings.lead.nanoseconds)
            guard bufferedFrames > 0 else {
                if sourceEnded { return stop() }
                // Audio for `due` was needed at `handOver` (a device plays from what it was given ahead).
                guard now >= handOver else { return .wait(until: handOver) }
                underruns += 1
                state = .gap
                if settings.gaps == .pause { startsTalkspurt = true }
                return nextAction(at: now)
            }
            guard now >= handOver else { return .wait(until: handOver) }
            let frame = popFrame()
            bufferedUnits -= approximateUnits(frame)
            let action = Action.play(frame, position: position, startsTalkspurt: startsTalkspurt)
            startsTalkspurt = false
            position += exactUnits(frame)
            framesPlayed += 1
            return action
        case .gap:
            if sourceEnded { return stop() }
            if let silence = silenceDue(at: now) { return silence }
            return nextSilence.map { .wait(until: $0) } ?? .sleep
        }
    }

    // MARK: - Clock

    /// Wall time at which clock position `position` plays.
    public func deadline(of position: Int64) -> NIODeadline {
        guard let anchor else { return .uptimeNanoseconds(0) }
        let (high, low) = position.multipliedFullWidth(by: 1_000_000_000)
        let (nanoseconds, _) = Int64(settings.clockRate).dividingFullWidth((high, low))
        return anchor + .nanoseconds(nanoseconds)
    }

    /// The clock position wall time has reached at `now`.
    func wallPosition(at now: NIODeadline) -> Int64 {
        guard let anchor, now > anchor else { return 0 }
        let elapsed = Int64(now.uptimeNanoseconds - anchor.uptimeNanoseconds)
        let (high, low) = elapsed.multipliedFullWidth(by: Int64(settings.clockRate))
        return Int64(1_000_000_000).dividingFullWidth((high, low)).quotient
    }

    private mutating func start(at now: NIODeadline) {
        bufferingUntil = nil
        state = .playing
        if anchor == nil {
            anchor = now
            position = 0
        } else {
            // After a pause the clock has run on; after silence, `position` already follows it.
            position = max(position, wallPosition(at: now))
        }
    }

    private mutating func stop() -> Action {
        state = .idle
        sourceEnded = false
        startsTalkspurt = true
        return .stop
    }

    /// In `.silence` mode while nothing plays, the silence due at `now`, if any.
    private mutating func silenceDue(at now: NIODeadline) -> Action? {
        guard let due = nextSilence, now >= due - .nanoseconds(settings.lead.nanoseconds) else { return nil }
        let action = Action.silence(position: position, length: settings.silenceChunk)
        position += settings.silenceChunk
        return action
    }

    /// When the next chunk of silence is due, if silence is being played: in `.silence` mode, in a gap or while
    /// the jitter buffer refills after one.
    private var nextSilence: NIODeadline? {
        guard settings.gaps == .silence, anchor != nil, state == .gap || (state == .buffering && !startsTalkspurt)
        else { return nil }
        return deadline(of: position)
    }

    private func earliest(_ a: NIODeadline, _ b: NIODeadline?) -> NIODeadline {
        guard let b else { return a }
        return min(a, b)
    }

    // MARK: - Units

    private func units(_ duration: Duration) -> Int64 {
        duration.nanoseconds * Int64(settings.clockRate) / 1_000_000_000
    }

    /// A frame's length in clock units, for buffer accounting.
    private func approximateUnits(_ frame: SpeakerFrame) -> Int64 {
        Int64(frame.samples) * Int64(settings.clockRate) / Int64(frame.sampleRate)
    }

    /// A frame's length in clock units, carrying the remainder to the next frame at the same rate, so positions
    /// never drift from the samples played.
    private mutating func exactUnits(_ frame: SpeakerFrame) -> Int64 {
        if frame.sampleRate != conversionRate {
            conversionRate = frame.sampleRate
            conversionRemainder = 0
        }
        let total = Int64(frame.samples) * Int64(settings.clockRate) + conversionRemainder
        conversionRemainder = total % Int64(frame.sampleRate)
        return total / Int64(frame.sampleRate)
    }

    private mutating func popFrame() -> SpeakerFrame {
        let frame = buffer[bufferHead]
        bufferHead += 1
        if bufferHead == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            bufferHead = 0
        } else if bufferHead >= 256, bufferHead * 2 >= buffer.count {
            buffer.removeFirst(bufferHead)
            bufferHead = 0
        }
        return frame
    }
}
