import FloeCore
import Logging
import NIOCore

/// Between a chunked `PUT` source's socket and its ingest handler: passes on the body, not the chunk framing.
/// A malformed chunk ends the source (with a log line) before anything after it reaches listeners; the last
/// chunk ends it as a normal end of stream.
final class ChunkedSourceBodyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var decoder = ChunkedBodyDecoder()
    private let logger: Logger
    private var ended = false

    init(logger: Logger) {
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ended else { return }
        do {
            let (body, finished) = try decoder.decode(unwrapInboundIn(data))
            for piece in body where piece.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(piece))
            }
            if finished {
                ended = true
                logger.info("Source sent the last chunk of its body")
                context.close(promise: nil)
            }
        } catch {
            ended = true
            logger.warning("Source body is not valid chunked encoding; source ended", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }
}
