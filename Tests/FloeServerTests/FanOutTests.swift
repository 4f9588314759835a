import FloeCore
import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import FloeServer

/// The per-loop fan-out at scale, on an `EmbeddedEventLoop` whose clock only moves when a test moves it: passes
/// over more listeners than one slice, listeners that stall, leave or join mid-pass, and exactly which bytes each
/// listener channel was handed.
///
/// Each listener channel carries its session as the handler, as in the server, so a close reaches `remove(_:)`
/// and a drained socket reaches `pump(_:)` the way they do in the server.
@Suite("Fan-out")
struct FanOutTests {
    let loop = EmbeddedEventLoop()
    let departures = FanOutDepartures()
    let slice = LoopBroadcaster.sliceSize

    func broadcaster(queueCapacity: Int = 1 << 20) -> LoopBroadcaster {
        let departures = self.departures
        return LoopBroadcaster(
            eventLoop: loop,
            queueCapacity: .bytes(queueCapacity),
            listenerLeft: { id, slow in departures.record(id, slow: slow) },
            listenerMovedIn: { _ in }
        )
    }

    /// Block `sequence` of the stream: `size` bytes, each equal to `sequence` (mod 256), so a listener's bytes
    /// show which blocks it got and in which order.
    func block(_ sequence: Int, size: Int = 10) -> StreamBlock {
        StreamBlock(
            sequence: sequence,
            bytes: ByteBuffer(repeating: UInt8(truncatingIfNeeded: sequence), count: size),
            metadata: .empty,
            generation: 1
        )
    }

    /// What a listener that was sent exactly the blocks `sequences`, in that order, has received.
    func bytes(of sequences: some Sequence<Int>, size: Int = 10) -> [UInt8] {
        sequences.flatMap { [UInt8](repeating: UInt8(truncatingIfNeeded: $0), count: size) }
    }

    /// A connected listener channel with the session as its handler, as in the server, not yet added to a broadcaster.
    func listener(_ id: Int) throws -> FanOutListener {
        let channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let session = ListenerSession(id: id, channel: channel, homePath: "/m", metadataInterval: nil)
        try channel.pipeline.syncOperations.addHandler(session)
        return FanOutListener(session: session, channel: channel)
    }

    /// `count` listeners with ids `0..<count`, added in that order (so listener `i` sits in slot `i`).
    func listeners(_ count: Int, in fanout: LoopBroadcaster) throws -> [FanOutListener] {
        try (0..<count).map { id in
            let made = try self.listener(id)
            fanout.add(made.session, burst: .bytes(0), generation: 1)
            return made
        }
    }

    /// Runs the next continuation slice of the pass in progress (due 20 µs after the previous slice), only that.
    func nextSlice() {
        loop.advanceTime(by: .microseconds(20))
    }

    /// Runs every continuation slice until the passes in progress are done.
    func finishPasses() {
        loop.advanceTime(by: .milliseconds(10))
    }

    /// Ids of the listeners in `group` whose bytes so far are not exactly `expected`.
    func mismatches(_ group: some Sequence<FanOutListener>, expected: [UInt8]) throws -> [Int] {
        try group.filter { try $0.received() != expected }.map(\.session.id)
    }

    /// A pass over 1,000 listeners goes out in slices of `sliceSize`, the first at once and the rest as the loop
    /// runs; once they have run, every listener has had every block exactly once and in order, and nobody left.
    @Test func everyListenerGetsEveryBlockOnceInOrderAcrossSlices() throws {
        let fanout = broadcaster()
        let all = try listeners(1_000, in: fanout)
        fanout.publish(block(0))
        let reached = try all.filter { try !$0.received().isEmpty }.count
        #expect(reached == slice, "one slice goes out at once")
        #expect(try all[0].received().isEmpty, "the rest waits for the loop")
        finishPasses()
        #expect(try mismatches(all, expected: bytes(of: [0])).isEmpty)
        for sequence in 1..<5 {
            fanout.publish(block(sequence))
            finishPasses()
        }
        #expect(try mismatches(all, expected: bytes(of: 0..<5)).isEmpty)
        #expect(fanout.listenerCount == 1_000)
        #expect(departures.all.isEmpty)
    }

    /// A listener whose socket is full is skipped without losing its place in the queue; when it drains
    /// (`channelWritabilityChanged`, hence `pump`) it is sent what it missed, in order, then follows the live edge.
    @Test func anUnwritableListenerCatchesUpInOrderWhenItDrains() throws {
        let fanout = broadcaster()
        let all = try listeners(300, in: fanout)
        // One served in the first slice of a pass, one in the continuation slice.
        let stalled = [all[299], all[10]]
        fanout.publish(block(0))
        finishPasses()
        for listener in stalled { listener.channel.isWritable = false }
        for sequence in 1...3 {
            fanout.publish(block(sequence))
            finishPasses()
        }
        for listener in stalled {
            #expect(try listener.received() == bytes(of: [0]), "nothing while unwritable")
            #expect(listener.session.nextSequence == 1, "its place is kept")
        }
        let others = all.filter { listener in !stalled.contains { $0 === listener } }
        #expect(try mismatches(others, expected: bytes(of: 0...3)).isEmpty)
        for listener in stalled {
            listener.channel.isWritable = true
            listener.channel.pipeline.syncOperations.fireChannelWritabilityChanged()
            #expect(try listener.received() == bytes(of: 0...3), "caught up at once, in order")
        }
        fanout.publish(block(4))
        finishPasses()
        #expect(try mismatches(all, expected: bytes(of: 0...4)).isEmpty)
        #expect(departures.all.isEmpty)
    }

    /// Blocks published while a pass is still working down the list reach every listener exactly once and in
    /// order; the bottom of the list gets them in the same pass rather than waiting behind restarts from the top.
    @Test func blocksArrivingMidPassReachEveryoneOnceInOrder() throws {
        let fanout = broadcaster()
        let all = try listeners(2 * slice + 88, in: fanout)
        let firstSlice = all[(all.count - slice)...]
        fanout.publish(block(0))
        fanout.publish(block(1))  // before the continuation slice
        #expect(try mismatches(firstSlice, expected: bytes(of: [0])).isEmpty)
        #expect(try mismatches(all[..<(all.count - slice)], expected: []).isEmpty, "not reached yet")
        nextSlice()
        nextSlice()
        #expect(try mismatches(all[..<(all.count - slice)], expected: bytes(of: [0, 1])).isEmpty)
        #expect(try all[0].received() == bytes(of: [0, 1]), "the bottom listener is not starved")
        fanout.publish(block(2))  // during the follow-up pass for block 1
        finishPasses()
        #expect(try mismatches(all, expected: bytes(of: 0...2)).isEmpty)
        #expect(departures.all.isEmpty)
    }

    /// Listeners leaving between slices get nothing more and are counted out exactly once each, not as slow; the
    /// listeners swapped into their slots are neither skipped nor sent anything twice.
    @Test func listenersLeavingMidPassAreCountedOutOnceAndSkipNoOne() throws {
        let fanout = broadcaster()
        let all = try listeners(2 * slice + 88, in: fanout)
        fanout.publish(block(0))  // the first slice: slots 344...599
        let notYetServed = [0, 100, 343]
        let served = [599, 400]
        // The connection closes: `ListenerSession.channelInactive` removes the listener.
        for id in notYetServed { all[id].channel.close(promise: nil) }
        // Removed directly (a move or an admin kill), then the connection closes too: still counted once.
        for id in served {
            fanout.remove(all[id].session)
            all[id].channel.close(promise: nil)
        }
        #expect(fanout.listenerCount == all.count - 5)
        finishPasses()
        fanout.publish(block(1))
        finishPasses()
        for id in notYetServed { #expect(try all[id].received().isEmpty, "listener \(id) got nothing") }
        for id in served { #expect(try all[id].received() == bytes(of: [0]), "listener \(id) got nothing more") }
        let stayed = all.filter { !(notYetServed + served).contains($0.session.id) }
        #expect(try mismatches(stayed, expected: bytes(of: 0...1)).isEmpty)
        let expected = (notYetServed + served).sorted().map { FanOutDeparture(id: $0, slow: false) }
        let left = departures.all.sorted { $0.id < $1.id }
        #expect(left == expected)
    }

    /// A listener that stays unwritable while more than the queue's capacity is published falls out of the queue
    /// and is dropped as slow: its connection is closed and it is counted out once, while everyone else carries on
    /// with every block. While what it lacks is still queued (exactly `queueCapacity` bytes behind), it stays.
    @Test func aListenerStuckBeyondTheQueueIsDroppedAsSlow() throws {
        let fanout = broadcaster(queueCapacity: 300)  // three 100-byte blocks
        let all = try listeners(300, in: fanout)
        let slow = all[280]  // served in the first slice of a pass
        fanout.publish(block(0, size: 100))
        finishPasses()
        slow.channel.isWritable = false
        for sequence in 1...3 {
            fanout.publish(block(sequence, size: 100))
            finishPasses()
        }
        #expect(slow.channel.isActive, "block 1, its next, is still queued")
        #expect(departures.all.isEmpty)
        fanout.publish(block(4, size: 100))  // releases block 1
        finishPasses()
        #expect(!slow.channel.isActive, "dropped")
        #expect(departures.all == [FanOutDeparture(id: 280, slow: true)])
        #expect(fanout.listenerCount == 299)
        fanout.publish(block(5, size: 100))
        finishPasses()
        #expect(try slow.received() == bytes(of: [0], size: 100))
        let others = all.filter { $0 !== slow }
        #expect(try mismatches(others, expected: bytes(of: 0...5, size: 100)).isEmpty)
        #expect(departures.all.count == 1, "counted out once, though its close reached the session's handler too")
    }

    /// A listener joining mid-stream (here, while a pass is under way) is sent its burst at once, starting on a
    /// block boundary: the newest block with at least `burstBytes` from its start to the live edge. It then gets
    /// each live block once. `burstBytes` 0 starts at the live edge; more than is queued starts at the oldest block.
    @Test func aListenerJoiningMidStreamGetsABurstFromABlockBoundary() throws {
        let fanout = broadcaster()
        let all = try listeners(300, in: fanout)
        for sequence in 0..<5 {
            fanout.publish(block(sequence, size: 100))
            finishPasses()
        }
        fanout.publish(block(5, size: 100))  // the continuation slice is still to run
        let late = try listener(1_000)
        fanout.add(late.session, burst: .bytes(250), generation: 1)
        // 250 bytes back from the live edge lies inside block 3: the burst is all of blocks 3, 4 and 5.
        #expect(try late.received() == bytes(of: 3...5, size: 100))
        let live = try listener(1_001)
        fanout.add(live.session, burst: .bytes(0), generation: 1)
        let history = try listener(1_002)
        fanout.add(history.session, burst: .bytes(10_000), generation: 1)
        #expect(try live.received().isEmpty)
        #expect(try history.received() == bytes(of: 0...5, size: 100))
        finishPasses()
        fanout.publish(block(6, size: 100))
        finishPasses()
        #expect(try late.received() == bytes(of: 3...6, size: 100), "no block twice")
        #expect(try live.received() == bytes(of: [6], size: 100))
        #expect(try history.received() == bytes(of: 0...6, size: 100))
        #expect(try mismatches(all, expected: bytes(of: 0...6, size: 100)).isEmpty)
        #expect(fanout.listenerCount == 303)
    }
}

/// One listener of these tests: its session, its channel, and every byte the broadcaster has flushed to it.
final class FanOutListener {
    let session: ListenerSession
    let channel: EmbeddedChannel
    private var bytes: [UInt8] = []

    init(session: ListenerSession, channel: EmbeddedChannel) {
        self.session = session
        self.channel = channel
    }

    /// Everything flushed to the channel since it was created (unflushed writes excluded).
    func received() throws -> [UInt8] {
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }
}

struct FanOutDeparture: Equatable {
    var id: Int
    var slow: Bool
}

/// Every `listenerLeft` call, in order.
final class FanOutDepartures: Sendable {
    private let log = Mutex<[FanOutDeparture]>([])

    func record(_ id: Int, slow: Bool) {
        log.withLock { $0.append(FanOutDeparture(id: id, slow: slow)) }
    }

    var all: [FanOutDeparture] { log.withLock { $0 } }
}
