import NIOCore
import Synchronization

/// Every open client connection, kept per event loop so that stopping the server can close them all, and so
/// that adding or removing one takes no lock: each loop's table is touched only on that loop (a channel's
/// initializer and its close callback run on its own loop). The count (Icecast's `<clients>`) is one atomic.
final class ConnectionRegistry: Sendable {
    /// Open client connections of every kind.
    let count = Atomic<Int>(0)
    private let tables: [(eventLoop: EventLoop, box: NIOLoopBoundBox<[ObjectIdentifier: Channel]>)]

    init(eventLoops: [EventLoop]) {
        tables = eventLoops.map { loop in
            (loop, NIOLoopBoundBox.makeBoxSendingValue([ObjectIdentifier: Channel](), eventLoop: loop))
        }
    }

    /// Registers `channel` until it closes; call on the channel's loop.
    func add(_ channel: Channel) {
        guard let table = table(of: channel.eventLoop) else { return }
        let key = ObjectIdentifier(channel)
        table.value[key] = channel
        count.wrappingAdd(1, ordering: .relaxed)
        // One callback per connection does both (each costs memory at ten thousand listeners).
        channel.closeFuture.whenComplete { [self] _ in
            table.value[key] = nil
            count.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    /// Closes every connection and waits until all have closed.
    func closeAll() async {
        var closing: [EventLoopFuture<Void>] = []
        for table in tables {
            let closed = try? await table.eventLoop.submit { () -> [EventLoopFuture<Void>] in
                let channels = Array(table.box.value.values)
                for channel in channels { channel.close(promise: nil) }
                return channels.map(\.closeFuture)
            }.get()
            closing += closed ?? []
        }
        for future in closing {
            try? await future.get()
        }
    }

    private func table(of loop: EventLoop) -> NIOLoopBoundBox<[ObjectIdentifier: Channel]>? {
        tables.first { $0.eventLoop === loop }?.box
    }
}
