import FloeCore
import NIOCore

/// The connection a request arrived on, as a responder sees it: answer and close, wait for something (an
/// authentication service), or take the connection over with handlers of its own.
///
/// Use it on the connection's event loop only: in `Responder.respond` and in callbacks that come back to that loop
/// (wrap it in `NIOLoopBound` to carry it there).
struct Connection {
    let handler: RequestHeadHandler
    let context: ChannelHandlerContext

    var channel: Channel { context.channel }
    var eventLoop: EventLoop { context.eventLoop }
    var isActive: Bool { context.channel.isActive }

    /// Writes `response` (with the configured server id and headers), closes the output side, and discards
    /// input for a short while before closing, so a client still sending reads the status instead of a reset.
    func respondAndClose(_ response: IcecastResponse) {
        handler.respondAndClose(context: context, response)
    }

    /// Writes bytes already encoded (a response head alone), then closes as `respondAndClose(_:)` does.
    func respondAndClose(bytes: ByteBuffer, status: Int) {
        handler.respondAndClose(context: context, bytes: bytes, status: status)
    }

    /// Input is ignored until the responder answers or takes the connection over.
    func awaitAnswer() {
        handler.beginAuthenticating()
    }

    /// Adds `handlers` after the request-head handler, in order.
    func addHandlers(_ handlers: [any ChannelHandler]) throws {
        var previous: any ChannelHandler = handler
        for added in handlers {
            try context.pipeline.syncOperations.addHandler(added, position: .after(previous))
            previous = added
        }
    }

    /// The connection belongs to the handlers just added: the request-head handler forwards `leftover` (bytes
    /// that came with the head) to them and leaves the pipeline.
    func handOver(forwarding leftover: ByteBuffer? = nil) {
        handler.handOver()
        if let leftover, leftover.readableBytes > 0 {
            context.fireChannelRead(NIOAny(leftover))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// The access-log entry for this request, with `status` and the bytes sent so far.
    func accessRecord(status: Int, bytes: Int) -> AccessRecord {
        handler.accessRecord(context: context, status: status, bytes: bytes)
    }

    /// Closes at once, with no response (the channel failed).
    func close() {
        context.close(promise: nil)
    }
}

extension Connection {
    /// A response of several writes begins (a file streamed in chunks): the header timeout ends, input is
    /// discarded from now on.
    func beginResponse() {
        handler.beginResponse(context: context)
    }

    /// A response that keeps the connection open (HTTP/1.1 keep-alive) begins, or a wait before it: `pending`
    /// (bytes after the head) and input arriving meanwhile are kept for the next request.
    func beginKeepAliveResponse(pending: ByteBuffer) {
        handler.beginKeepAliveResponse(context: context, pending: pending)
    }

    /// The response begun with `beginKeepAliveResponse` is written: logged, and the next request is read.
    func finishKeepAliveResponse(status: Int, bytes: Int) {
        handler.finishKeepAliveResponse(context: context, status: status, bytes: bytes)
    }

    /// The response begun with `beginResponse` is written (`bytes` in all): logged, output closed, connection
    /// closed once the client has read it.
    func finishResponse(status: Int, bytes: Int) {
        handler.finishResponse(context: context, status: status, bytes: bytes)
    }
}
