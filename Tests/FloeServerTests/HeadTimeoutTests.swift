import NIOCore
import Testing

@testable import FloeServer

/// The wait for a request head: `header-timeout` plus a spread, so that connections opened together (an idle
/// flood) do not all time out in the same loop tick.
@Suite("Request head timeout")
struct HeadTimeoutTests {
    @Test func fifteenSecondsAreSpreadOverOneMoreSecond() {
        let waits = (0..<200).map { _ in RequestHeadHandler.headTimeout(configured: 15) }
        #expect(waits.allSatisfy { $0 >= .seconds(15) && $0 <= .seconds(16) })
        #expect(Set(waits.map(\.nanoseconds)).count > 100, "the waits differ from one connection to the next")
    }

    @Test func shortTimeoutsAreSpreadByATenth() {
        let waits = (0..<200).map { _ in RequestHeadHandler.headTimeout(configured: 0.3) }
        #expect(waits.allSatisfy { $0 >= .milliseconds(300) && $0 <= .milliseconds(330) })
    }

    @Test func longTimeoutsAreSpreadByASecondAtMost() {
        let waits = (0..<200).map { _ in RequestHeadHandler.headTimeout(configured: 600) }
        #expect(waits.allSatisfy { $0 >= .seconds(600) && $0 <= .seconds(601) })
    }
}
