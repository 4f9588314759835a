import NIOCore

/// The pipeline of a listener after its response head: nothing comes in that matters, and the broadcaster
/// drives every write. This handler only tells the broadcaster when the socket drains or closes.
final class ListenerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let session: ListenerSession
    private let broadcaster: LoopBroadcaster

    init(session: ListenerSession, broadcaster: LoopBroadcaster) {
        self.session = session
        self.broadcaster = broadcaster
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Players send nothing after the request; whatever arrives is ignored.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, !session.isDetached {
            broadcaster.pump(session)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        broadcaster.remove(session)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A reset from a vanished player is routine; the close ends the session.
        context.close(promise: nil)
    }
}
