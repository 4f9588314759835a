import NIOCore
import NIOHTTP1
import NIOSSL

/// One connection of a request: sends the request, waits for the head (redirects are handed back to
/// `HTTPClient`), then passes the body to the delegate, reading again only once the delegate has taken the last
/// bytes. The delegate hears exactly one of `didFinish` and `didFail`, unless the request was redirected.
final class HTTPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case awaitingHead
        case streaming
        /// A redirect is being followed, or the delegate has heard the end.
        case done
    }

    private let request: HTTPClientRequest
    private let url: HTTPClientURL
    private let delegate: any HTTPClientResponseDelegate
    private let redirect: @Sendable (HTTPClientURL) -> Void
    private var state = State.awaitingHead
    private var timer: Scheduled<Void>?
    /// The delegate's last `didReceiveBodyPart` future: the next read waits for it.
    private var pending: EventLoopFuture<Void>?
    private var readRequested = false

    init(
        request: HTTPClientRequest,
        url: HTTPClientURL,
        delegate: any HTTPClientResponseDelegate,
        redirect: @escaping @Sendable (HTTPClientURL) -> Void
    ) {
        self.request = request
        self.url = url
        self.delegate = delegate
        self.redirect = redirect
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, request.timeout, "no response head from \(url) within \(request.timeout.seconds) s")
        context.write(wrapOutboundOut(.head(request.head(for: url))), promise: nil)
        if let body = request.body {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingHead):
            timer?.cancel()
            if request.method == .GET, [301, 302, 303, 307, 308].contains(head.status.code),
                let location = head.headers.first(name: "location")
            {
                state = .done
                context.close(promise: nil)
                guard let next = url.resolving(location) else {
                    delegate.didFail(HTTPClientError("redirect from \(url) to an unsupported location: \(location)"))
                    return
                }
                redirect(next)
                return
            }
            state = .streaming
            armIdle(context)
            delegate.didReceiveHead(head)
        case (.body(let bytes), .streaming):
            armIdle(context)
            pending = delegate.didReceiveBodyPart(bytes)
        case (.end, .streaming):
            state = .done
            timer?.cancel()
            delegate.didFinish()
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard state != .done else { return }
        guard let pending else {
            context.read()
            return
        }
        self.pending = nil
        // Waiting for the consumer is not the server stalling: the idle timer stops until the next read.
        if request.idleTimeout != nil { timer?.cancel() }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pending.hop(to: context.eventLoop).whenComplete { _ in
            let (handler, context) = bound.value
            guard context.channel.isActive, handler.state != .done else { return }
            handler.armIdle(context)
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            // The decoder has seen the end of input (and ended an unframed body); nothing more will come.
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        switch state {
        case .awaitingHead:
            state = .done
            delegate.didFail(HTTPClientError("\(url) closed the connection without a response"))
        case .streaming:
            state = .done
            delegate.didFail(HTTPClientError("\(url) closed the connection before the body ended"))
        case .done:
            break
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A TLS peer that closes without close_notify (Python's http.server, many others) ends the connection
        // as a plain close would: what follows (channelInactive, the decoder) decides whether the response was
        // whole. A body framed by the close could be cut short unnoticed; Floe reads audio and response heads
        // that way, where that changes nothing.
        if let tlsError = error as? NIOSSLError, case .uncleanShutdown = tlsError { return }
        fail(context, "\(url): \(error)")
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        timer?.cancel()
        if state != .done {
            state = .done
            delegate.didFail(HTTPClientError(message))
        }
        context.close(promise: nil)
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount, _ message: String) {
        timer?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.fail(context, message)
        }
    }

    /// Restarts the idle timeout of a streaming body, if the request has one.
    private func armIdle(_ context: ChannelHandlerContext) {
        guard let idle = request.idleTimeout else { return }
        arm(context, idle, "\(url) sent nothing for \(idle.seconds) s")
    }
}

/// SHOUTcast v1 servers answer `ICY 200 OK`; this turns the status line's protocol into `HTTP/1.0` before the
/// HTTP decoder sees it, then leaves the pipeline.
final class ICYStatusLineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var seen = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        seen.writeBuffer(&incoming)
        guard seen.readableBytes >= 4 else { return }
        var out = seen
        if out.readableBytesView.starts(with: Array("ICY ".utf8)) {
            out.moveReaderIndex(forwardBy: 3)
            var rewritten = ByteBuffer(string: "HTTP/1.0")
            rewritten.writeBuffer(&out)
            out = rewritten
        }
        seen = ByteBuffer()
        context.fireChannelRead(wrapInboundOut(out))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if seen.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(seen)) }
        context.fireChannelInactive()
    }
}

extension TimeAmount {
    /// Whole seconds, for messages.
    var seconds: Int64 { nanoseconds / 1_000_000_000 }
}
