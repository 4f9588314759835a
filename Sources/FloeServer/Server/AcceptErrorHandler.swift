import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a listening socket does when `accept` fails (out of file descriptors, out of memory): it stops
/// accepting for `pause`, then tries again; and it logs the condition at most once per `logInterval`, with the
/// open-file limit and how many connections are open.
///
/// NIO's `AcceptBackoffHandler` is not enough here: it delays the next `read`, but a failed `accept` leaves NIO's
/// read pending, so the socket stays registered for readability and epoll reports it again at once (measured:
/// 10,000 failing `accept4` calls a second, a whole core). Turning `autoRead` off unregisters it; turning it back
/// on after the pause registers it again.
final class AcceptErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    static let logInterval = TimeAmount.seconds(10)

    private let logger: Logger
    private let pause: TimeAmount
    private let openConnections: @Sendable () -> Int
    private var lastLogged: NIODeadline?
    private var unlogged = 0
    private var paused = false

    init(logger: Logger, pause: TimeAmount, openConnections: @escaping @Sendable () -> Int) {
        self.logger = logger
        self.pause = pause
        self.openConnections = openConnections
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        unlogged += 1
        let now = NIODeadline.now()
        if lastLogged.map({ now - $0 >= Self.logInterval }) ?? true {
            let outOfDescriptors = io.errnoCode == EMFILE || io.errnoCode == ENFILE
            logger.error(
                "\(outOfDescriptors ? "Out of file descriptors" : "Out of memory"): new connections wait until some close",
                metadata: [
                    "error": "\(error)",
                    "failures": "\(unlogged)",
                    "open_file_limit": "\(FileDescriptorLimit.current.soft)",
                    "connections": "\(openConnections())",
                ]
            )
            lastLogged = now
            unlogged = 0
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: pause) {
            let (handler, context) = bound.value
            handler.paused = false
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
