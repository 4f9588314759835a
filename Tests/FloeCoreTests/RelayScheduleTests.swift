import FloeCore
import Testing

@Suite("Relay schedule")
struct RelayScheduleTests {
    @Test func oneUpstreamBacksOffExponentiallyUpToThirtySeconds() {
        var schedule = RelaySchedule(upstreamCount: 1)
        let waits = (0..<8).map { _ in schedule.failed(jitter: 0.5).delay }
        #expect(waits == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(schedule.current == 0)
    }

    /// Back on a higher-priority upstream: failures go on down the list from there, with the shortest wait.
    @Test func switchingBackToAHigherUpstreamStartsFromIt() {
        var schedule = RelaySchedule(upstreamCount: 3)
        _ = schedule.failed(jitter: 0.5)
        _ = schedule.failed(jitter: 0.5)
        #expect(schedule.current == 2)
        schedule.switchTo(upstream: 0)
        #expect(schedule.current == 0 && schedule.failedRounds == 0)
        #expect(schedule.failed(jitter: 0.5) == (1, .zero))
    }

    @Test func aStreamThatPlayedStartsOverWithTheShortestWait() {
        var schedule = RelaySchedule(upstreamCount: 1)
        _ = schedule.failed(jitter: 0.5)
        _ = schedule.failed(jitter: 0.5)
        schedule.streamed()
        #expect(schedule.failed(jitter: 0.5).delay == .seconds(1))
    }

    @Test func failuresMoveDownTheListAtOnceAndWaitOnlyAfterARound() {
        var schedule = RelaySchedule(upstreamCount: 3)
        #expect(schedule.failed(jitter: 0.5) == (1, .zero))
        #expect(schedule.failed(jitter: 0.5) == (2, .zero))
        #expect(schedule.failed(jitter: 0.5) == (0, .seconds(1)), "every upstream failed: wait, then the first again")
        #expect(schedule.failed(jitter: 0.5) == (1, .zero))
        #expect(schedule.failed(jitter: 0.5) == (2, .zero))
        #expect(schedule.failed(jitter: 0.5) == (0, .seconds(2)))
    }

    @Test func jitterSpreadsTheWaitByAFifth() {
        var low = RelaySchedule(upstreamCount: 1)
        var high = RelaySchedule(upstreamCount: 1)
        #expect(low.failed(jitter: 0).delay == .milliseconds(800))
        #expect(high.failed(jitter: 0.999_999).delay > .milliseconds(1_199))
    }
}
