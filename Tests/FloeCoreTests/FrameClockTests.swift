import FloeCore
import NIOCore
import Testing

@Suite("Frame clock")
struct FrameClockTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func at(_ seconds: Double) -> NIODeadline {
        start + .nanoseconds(Int64(seconds * 1e9))
    }

    @Test func mediaTimeIsExactInSamples() {
        var clock = FrameClock()
        // 10 000 frames of 1152 samples at 44.1 kHz is 261.2244897… s; no rounding drift per frame.
        for index in 0..<10_000 {
            _ = clock.record(samples: 1152, sampleRate: 44_100, bytes: 417, at: at(Double(index) * 0.026))
        }
        #expect(clock.mediaTime == .seconds(261) + .nanoseconds(224_489_795))
        #expect(clock.frameCount == 10_000)
    }

    @Test func framesAreDueAtAnchorPlusMediaTime() {
        var clock = FrameClock()
        let first = clock.record(samples: 1152, sampleRate: 48_000, bytes: 384, at: at(0))
        let second = clock.record(samples: 1152, sampleRate: 48_000, bytes: 384, at: at(0.001))
        #expect(first.mediaTime == .zero)
        #expect(first.deadline == at(0))
        #expect(second.mediaTime == .milliseconds(24))
        #expect(second.deadline == at(0.024))
        #expect(second.duration == .milliseconds(24))
    }

    @Test func measuresBitrate() throws {
        var clock = FrameClock()
        for index in 0..<1000 {
            // 128 kbps at 48 kHz: 384-byte frames of 24 ms.
            _ = clock.record(samples: 1152, sampleRate: 48_000, bytes: 384, at: at(Double(index) * 0.024))
        }
        #expect(clock.measuredBitrate == 128_000)
    }

    @Test func noticesFastAndSlowSources() throws {
        var fast = FrameClock(tolerance: .seconds(2))
        for _ in 0..<200 {  // 4.8 s of media in 0.1 s
            _ = fast.record(samples: 1152, sampleRate: 48_000, bytes: 384, at: at(0.1))
        }
        #expect(fast.pace(at: at(0.1)) == .fast)
        #expect(fast.pace(at: at(4.0)) == .realTime)
        #expect(fast.pace(at: at(7.0)) == .slow)
        // Anchored at the first frame (0.1 s): 4.8 s of media is real time at 4.9 s.
        let ratio = try #require(fast.realTimeRatio(at: at(4.9)))
        #expect(abs(ratio - 1.0) < 0.001)
    }

    @Test func sampleRateChangeKeepsMediaTimeContinuous() {
        var clock = FrameClock()
        _ = clock.record(samples: 1152, sampleRate: 48_000, bytes: 384, at: at(0))
        let next = clock.record(samples: 1152, sampleRate: 44_100, bytes: 417, at: at(0.024))
        #expect(next.mediaTime == .milliseconds(24))
        #expect(clock.mediaTime == .milliseconds(24) + .nanoseconds(26_122_448))
    }

    @Test func paceHasHysteresisSoAThresholdSourceDoesNotFlap() {
        var clock = FrameClock(tolerance: .seconds(2))
        for _ in 0..<125 {  // 3.0 s of media at once
            _ = clock.record(samples: 1152, sampleRate: 48_000, bytes: 384, at: at(0))
        }
        #expect(clock.pace(at: at(0.5), previous: .realTime) == .fast)  // lead 2.5 s
        #expect(clock.pace(at: at(1.5), previous: .fast) == .fast)  // lead 1.5 s: still above half the tolerance
        #expect(clock.pace(at: at(1.5), previous: .realTime) == .realTime)
        #expect(clock.pace(at: at(2.5), previous: .fast) == .realTime)  // lead 0.5 s
    }
}
