import FloeCore
import NIOCore
import NIOEmbedded
import Testing

@testable import FloeServer

/// The per-loop fan-out, step by step on an `EmbeddedEventLoop`: what each listener channel is handed, exactly.
@Suite("Loop broadcaster")
struct LoopBroadcasterTests {
    let loop = EmbeddedEventLoop()

    func broadcaster() -> LoopBroadcaster {
        LoopBroadcaster(eventLoop: loop, queueCapacity: .bytes(1 << 20), listenerLeft: { _, _ in }, listenerMovedIn: { _ in })
    }

    func block(_ sequence: Int, generation: Int, byte: UInt8) -> StreamBlock {
        StreamBlock(
            sequence: sequence,
            bytes: ByteBuffer(repeating: byte, count: 100),
            metadata: .empty,
            generation: generation
        )
    }

    func listener(_ id: Int) throws -> (ListenerSession, EmbeddedChannel) {
        let channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (ListenerSession(id: id, channel: channel, homePath: "/m", metadataInterval: nil), channel)
    }

    /// Every byte written to `channel` so far.
    func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    @Test func burstThenLiveBlocksAreWrittenWhole() throws {
        let fanout = broadcaster()
        for sequence in 0..<3 { fanout.publish(block(sequence, generation: 1, byte: UInt8(sequence))) }
        let (session, channel) = try listener(1)
        fanout.add(session, burst: .bytes(150), generation: 1)
        #expect(try written(channel) == [UInt8](repeating: 1, count: 100) + [UInt8](repeating: 2, count: 100))
        fanout.publish(block(3, generation: 1, byte: 3))
        #expect(try written(channel) == [UInt8](repeating: 3, count: 100))
    }

    @Test func aListenerAdmittedForTheNextSourceSurvivesTheOldSourcesEnd() throws {
        let fanout = broadcaster()
        fanout.publish(block(0, generation: 1, byte: 1))
        let (old, oldChannel) = try listener(1)
        fanout.add(old, burst: .bytes(64), generation: 1)
        // The next source is live and admitted a listener before this loop ran the old source's end.
        let (new, newChannel) = try listener(2)
        fanout.add(new, burst: .bytes(64), generation: 2)
        #expect(try written(newChannel).isEmpty, "no burst of the old source's audio")
        fanout.endAll(generation: 1)
        loop.run()
        #expect(!oldChannel.isActive, "the old source's listener ends")
        #expect(newChannel.isActive, "the new one stays")
        fanout.publish(block(1, generation: 2, byte: 9))
        #expect(try written(newChannel) == [UInt8](repeating: 9, count: 100))
    }

    @Test func moveAllHandsListenersToTheFallbackAtItsLiveEdge() throws {
        let main = broadcaster()
        let fallback = broadcaster()
        fallback.publish(block(0, generation: 1, byte: 7))
        main.publish(block(0, generation: 1, byte: 1))
        let (session, channel) = try listener(1)
        main.add(session, burst: .bytes(64), generation: 1)
        _ = try written(channel)
        main.moveAll(to: fallback, generation: 1)
        #expect(session.broadcaster === fallback)
        #expect(try written(channel).isEmpty, "nothing from the fallback's past")
        fallback.publish(block(1, generation: 1, byte: 8))
        #expect(try written(channel) == [UInt8](repeating: 8, count: 100))
        #expect(channel.isActive)
    }

    @Test func aMovedListenerGetsTheNewMountsOggHeaderEvenWithTheSameID() throws {
        let main = broadcaster()
        let fallback = broadcaster()
        let mainHeader = StreamHeader(id: 1, bytes: ByteBuffer(repeating: 0xAA, count: 10))
        let fallbackHeader = StreamHeader(id: 1, bytes: ByteBuffer(repeating: 0xBB, count: 10))
        var first = block(0, generation: 1, byte: 1)
        first.streamHeader = mainHeader
        main.publish(first)
        let (session, channel) = try listener(1)
        main.add(session, burst: .bytes(64), generation: 1)
        #expect(try written(channel) == [UInt8](repeating: 0xAA, count: 10) + [UInt8](repeating: 1, count: 100))
        main.moveAll(to: fallback, generation: 1)
        var next = block(0, generation: 1, byte: 2)
        next.streamHeader = fallbackHeader
        fallback.publish(next)
        #expect(try written(channel) == [UInt8](repeating: 0xBB, count: 10) + [UInt8](repeating: 2, count: 100))
    }
}
