import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Floe's one HTTP/1 client, on NIOHTTP1's codec: URL authentication's POSTs, `floe play`'s stream, and relays.
///
/// It speaks what Icecast peers speak: HTTP/1.0 by default (bodies are raw bytes until close), `ICY 200 OK`
/// status lines from SHOUTcast servers, Basic credentials from the URL or the request, `Icy-MetaData: 1`,
/// IPv6 literals, redirects for `GET`, a deadline for connecting and for the response head, and an optional
/// idle timeout while a body streams.
public enum HTTPClient {
    /// Streams the response to `delegate`, whose methods are called on `eventLoop`; callable from anywhere.
    /// Returns a handle that cancels it.
    @discardableResult
    public static func stream(
        _ request: HTTPClientRequest,
        on eventLoop: EventLoop,
        to delegate: sending any HTTPClientResponseDelegate
    ) -> HTTPClientTask {
        let task = HTTPClientTask()
        let box = NIOLoopBoundBox.makeBoxSendingValue(delegate, eventLoop: eventLoop)
        eventLoop.execute {
            let delegate = NIOLoopBound(box.value, eventLoop: eventLoop)
            attempt(request, url: request.url, redirectsLeft: request.maximumRedirects, on: eventLoop, delegate: delegate, task: task)
        }
        return task
    }

    /// Sends `request` and collects the whole response (at most `maximumBodyBytes` of body).
    public static func execute(
        _ request: HTTPClientRequest,
        on eventLoop: EventLoop,
        maximumBodyBytes: Int = 1 << 20
    ) -> EventLoopFuture<HTTPClientResponse> {
        eventLoop.flatSubmit {
            let promise = eventLoop.makePromise(of: HTTPClientResponse.self)
            let collector = ResponseCollector(promise: promise, maximumBodyBytes: maximumBodyBytes, eventLoop: eventLoop)
            // On the loop, the collector can learn its task before any of its methods runs.
            let bound = NIOLoopBound(collector, eventLoop: eventLoop)
            let task = stream(request, on: eventLoop, to: ResponseCollectorProxy(bound))
            bound.value.task = task
            if let deadline = request.deadline {
                let timer = eventLoop.scheduleTask(in: deadline) {
                    bound.value.didFail(HTTPClientError("no complete response from \(request.url) within \(deadline.seconds) s"))
                    task.cancel()
                }
                promise.futureResult.whenComplete { _ in timer.cancel() }
            }
            return promise.futureResult
        }
    }

    private static func attempt(
        _ request: HTTPClientRequest,
        url: HTTPClientURL,
        redirectsLeft: Int,
        on eventLoop: EventLoop,
        delegate: NIOLoopBound<any HTTPClientResponseDelegate>,
        task: HTTPClientTask
    ) {
        guard !task.isCancelled else {
            delegate.value.didFail(HTTPClientError("request to \(url) cancelled"))
            return
        }
        let redirect: @Sendable (HTTPClientURL) -> Void = { next in
            guard redirectsLeft > 0 else {
                delegate.value.didFail(HTTPClientError("too many redirects (last to \(next))"))
                return
            }
            // Credentials go only where they were meant to: not to another scheme, host or port (as curl does),
            // or a redirect would hand a relay's password to whoever the upstream names.
            var onward = request
            if !next.hasSameOrigin(as: url) {
                onward.user = nil
                onward.password = nil
            }
            attempt(onward, url: next, redirectsLeft: redirectsLeft - 1, on: eventLoop, delegate: delegate, task: task)
        }
        let handler = NIOLoopBound(
            HTTPClientHandler(request: request, url: url, delegate: delegate.value, redirect: redirect),
            eventLoop: eventLoop
        )
        guard url.isTLS else {
            connect(request, url: url, tls: nil, on: eventLoop, handler: handler, delegate: delegate, task: task)
            return
        }
        // Building a TLS context reads the system's trust store: done once per CA file, off the event loop.
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try HTTPClientTLSContexts.shared.context(caFile: request.caFile)
        }.whenComplete { result in
            switch result {
            case .success(let context):
                connect(request, url: url, tls: context, on: eventLoop, handler: handler, delegate: delegate, task: task)
            case .failure(let error):
                delegate.value.didFail(HTTPClientError("cannot set up TLS for \(url): \(error)"))
            }
        }
    }

    private static func connect(
        _ request: HTTPClientRequest,
        url: HTTPClientURL,
        tls: NIOSSLContext?,
        on eventLoop: EventLoop,
        handler: NIOLoopBound<HTTPClientHandler>,
        delegate: NIOLoopBound<any HTTPClientResponseDelegate>,
        task: HTTPClientTask
    ) {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(request.timeout)
            // Reads are asked for by the handler: after the head, only once the delegate took the last bytes.
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // SNI and the certificate check name the host; an IP address is checked against the
                        // certificate's IP addresses instead (NIOSSL refuses an IP as SNI).
                        let isAddress = (try? SocketAddress(ipAddress: url.host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : url.host)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(ResponseHeadLimitHandler())
                    try channel.pipeline.syncOperations.addHandler(ICYStatusLineHandler())
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
            .connect(host: url.host, port: url.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    task.attach(channel)
                case .failure(let error):
                    delegate.value.didFail(HTTPClientError("cannot connect to \(url): \(error)"))
                }
            }
    }
}

/// A request in progress; `cancel()` closes its connection (the delegate hears `didFail`).
public final class HTTPClientTask: Sendable {
    private let state = NIOLockedValueBox<(channel: Channel?, cancelled: Bool)>((nil, false))

    init() {}

    var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    func attach(_ channel: Channel) {
        let cancelled = state.withLockedValue { state -> Bool in
            state.channel = channel
            return state.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }

    public func cancel() {
        let channel = state.withLockedValue { state -> Channel? in
            state.cancelled = true
            return state.channel
        }
        channel?.close(promise: nil)
    }
}

/// A whole response.
public struct HTTPClientResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: ByteBuffer

    public var status: Int { Int(head.status.code) }
}

/// Forwards to a collector that `execute` keeps (to give it its task) on the same loop.
private final class ResponseCollectorProxy: HTTPClientResponseDelegate {
    private let collector: NIOLoopBound<ResponseCollector>

    init(_ collector: NIOLoopBound<ResponseCollector>) {
        self.collector = collector
    }

    func didReceiveHead(_ head: HTTPResponseHead) { collector.value.didReceiveHead(head) }
    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void> { collector.value.didReceiveBodyPart(bytes) }
    func didFinish() { collector.value.didFinish() }
    func didFail(_ error: HTTPClientError) { collector.value.didFail(error) }
}

/// Gathers a response for `HTTPClient.execute`.
private final class ResponseCollector: HTTPClientResponseDelegate {
    private let promise: EventLoopPromise<HTTPClientResponse>
    private let maximumBodyBytes: Int
    private let eventLoop: EventLoop
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var completed = false
    var task: HTTPClientTask?

    init(promise: EventLoopPromise<HTTPClientResponse>, maximumBodyBytes: Int, eventLoop: EventLoop) {
        self.promise = promise
        self.maximumBodyBytes = maximumBodyBytes
        self.eventLoop = eventLoop
    }

    func didReceiveHead(_ head: HTTPResponseHead) {
        self.head = head
    }

    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        var bytes = bytes
        if body.readableBytes + bytes.readableBytes > maximumBodyBytes {
            didFail(HTTPClientError("response body larger than \(maximumBodyBytes) bytes"))
            task?.cancel()
        } else {
            body.writeBuffer(&bytes)
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    func didFinish() {
        guard let head else { return didFail(HTTPClientError("no response")) }
        guard !completed else { return }
        completed = true
        promise.succeed(HTTPClientResponse(head: head, body: body))
    }

    func didFail(_ error: HTTPClientError) {
        guard !completed else { return }
        completed = true
        promise.fail(error)
    }
}

/// Client TLS contexts, one per extra CA file: system trust roots, TLS 1.2 at least, full verification.
final class HTTPClientTLSContexts: Sendable {
    static let shared = HTTPClientTLSContexts()
    private let contexts = NIOLockedValueBox<[String: NIOSSLContext]>([:])

    /// Blocks (reads the trust store); call it off the event loops.
    func context(caFile: String?) throws -> NIOSSLContext {
        let key = caFile ?? ""
        if let existing = contexts.withLockedValue({ $0[key] }) { return existing }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        let context = try NIOSSLContext(configuration: configuration)
        contexts.withLockedValue { $0[key] = context }
        return context
    }
}
