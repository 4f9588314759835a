import FloeCore
import Logging
import NIOCore

/// The pipeline of a source connection after its login: raw stream bytes in, handed to the source's
/// ``SourceFeed``, which frames them and publishes blocks to the mount.
///
/// A read timeout (`source-timeout`) arrives as an `IdleStateEvent` from the `IdleStateHandler` in front.
final class SourceIngestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let feed: SourceFeed
    private let logger: Logger

    init(feed: SourceFeed, logger: Logger) {
        self.feed = feed
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        feed.started()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        feed.receive(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            logger.warning("Disconnecting source due to socket timeout")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        feed.end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        feed.end()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("Source connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
