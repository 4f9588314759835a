import FloeHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The HTTP client against a real socket server on loopback that answers as Icecast and SHOUTcast servers do.
@Suite("HTTP client")
struct HTTPClientTests {
    @Test(arguments: [
        ("http://radio.example:8000/live", "radio.example", 8000, "/live", nil, nil),
        ("http://radio.example", "radio.example", 80, "/", nil, nil),
        ("http://radio.example?x=1", "radio.example", 80, "/?x=1", nil, nil),
        ("http://[::1]:8443/a?b=c#frag", "::1", 8443, "/a?b=c", nil, nil),
        ("http://relay:p%40ss%3Aw@[2001:db8::2]/", "2001:db8::2", 80, "/", "relay", "p@ss:w"),
        ("HTTP://u@h:1/x", "h", 1, "/x", "u", ""),
        ("https://radio.example/live", "radio.example", 443, "/live", nil, nil),
        ("HTTPS://[::1]:8443/", "::1", 8443, "/", nil, nil),
    ] as [(String, String, Int, String, String?, String?)])
    func urlsParse(_ text: String, host: String, port: Int, path: String, user: String?, password: String?) throws {
        let url = try #require(HTTPClientURL(text))
        #expect(url.host == host && url.port == port && url.path == path)
        #expect(url.user == user && url.password == password)
        #expect(url.isTLS == text.lowercased().hasPrefix("https"))
        #expect(url.description.hasPrefix(url.isTLS ? "https://" : "http://"))
    }

    @Test(arguments: ["https://", "ftp://x/", "http://", "http://:80/", "http://x:0/", "http://x:70000/", "http://[::1/"])
    func badURLsAreRefused(_ text: String) {
        #expect(HTTPClientURL(text) == nil)
    }

    @Test func hostHeaderBracketsIPv6() throws {
        #expect(try #require(HTTPClientURL("http://[::1]:8000/")).hostHeader == "[::1]:8000")
        #expect(try #require(HTTPClientURL("http://a.b/")).hostHeader == "a.b:80")
    }

    @Test func aGetSendsCredentialsAndIcyMetadataAndFollowsARedirect() async throws {
        let server = try await CannedServer.start()
        var request = HTTPClientRequest(url: try #require(HTTPClientURL("http://relay:se%20cret@127.0.0.1:\(server.port)/moved")))
        request.wantsICYMetadata = true
        let response = try await HTTPClient.execute(request, on: server.group.next()).get()
        #expect(response.status == 200)
        let echoed = String(buffer: response.body)
        #expect(echoed.hasPrefix("GET /echo HTTP/1.0\r\n"), "followed the redirect: \(echoed)")
        #expect(echoed.contains("Host: 127.0.0.1:\(server.port)\r\n"))
        #expect(echoed.contains("Authorization: Basic cmVsYXk6c2UgY3JldA==\r\n"), "relay:se cret")
        #expect(echoed.contains("Icy-MetaData: 1\r\n"))
        try await server.stop()
    }

    /// A redirect to another host (here `localhost` for `127.0.0.1`: another origin, the same test server) gets
    /// no credentials: an upstream cannot collect a relay's password by naming its own server (found by a probe).
    @Test func credentialsAreNotSentToAnotherOrigin() async throws {
        let server = try await CannedServer.start()
        var request = HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/elsewhere")))
        request.user = "relay"
        request.password = "secret"
        let response = try await HTTPClient.execute(request, on: server.group.next()).get()
        let echoed = String(buffer: response.body)
        #expect(echoed.hasPrefix("GET /echo HTTP/1.0\r\n"), "followed the redirect: \(echoed)")
        #expect(echoed.contains("Host: localhost:\(server.port)\r\n"))
        #expect(!echoed.contains("Authorization"), "\(echoed)")
        try await server.stop()
    }

    @Test func anUnframedBodyStreamsWholeAndInOrderToASlowConsumer() async throws {
        let server = try await CannedServer.start()
        let loop = server.group.next()
        let done = loop.makePromise(of: (HTTPResponseHead, [UInt8]).self)
        let request = HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/stream")))
        HTTPClient.stream(request, on: loop, to: SlowCollector(eventLoop: loop, done: done))
        let (head, body) = try await done.futureResult.get()
        #expect(head.status.code == 200 && head.headers.first(name: "icy-metaint") == "16000")
        #expect(body == CannedServer.streamBytes, "every byte, in order (\(body.count) of \(CannedServer.streamBytes.count))")
        try await server.stop()
    }

    @Test func aShoutcastStatusLineIsUnderstood() async throws {
        let server = try await CannedServer.start()
        let response = try await HTTPClient.execute(
            HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/icy"))),
            on: server.group.next()
        ).get()
        #expect(response.status == 200 && response.head.headers.first(name: "icy-name") == "Old Server")
        #expect(String(buffer: response.body) == "audio")
        try await server.stop()
    }

    @Test func aFormIsPostedWithItsLength() async throws {
        let server = try await CannedServer.start()
        let request = HTTPClientRequest.form(
            [("action", "listener_add"), ("agent", "A & B")],
            to: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/echo"))
        )
        let echoed = String(buffer: try await HTTPClient.execute(request, on: server.group.next()).get().body)
        #expect(echoed.hasPrefix("POST /echo HTTP/1.0\r\n"))
        #expect(echoed.contains("Content-Length: 37\r\n") && echoed.hasSuffix("\r\n\r\naction=listener_add&agent=A%20%26%20B"))
        try await server.stop()
    }

    @Test func failuresAreClear() async throws {
        let server = try await CannedServer.start()
        var stalled = HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/stall")))
        stalled.idleTimeout = .milliseconds(300)
        await #expect(throws: HTTPClientError.self) { try await HTTPClient.execute(stalled, on: server.group.next()).get() }
        var stalledBody = HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/stall")))
        stalledBody.deadline = .milliseconds(300)
        do {
            _ = try await HTTPClient.execute(stalledBody, on: server.group.next()).get()
            Issue.record("a body that never ends must fail the request at its deadline")
        } catch let error as HTTPClientError {
            #expect(error.description.contains("no complete response"))
        }
        var silent = HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/silent")))
        silent.timeout = .milliseconds(300)
        do {
            _ = try await HTTPClient.execute(silent, on: server.group.next()).get()
            Issue.record("a server that never answers must fail the request")
        } catch let error as HTTPClientError {
            #expect(error.description.contains("no response head"))
        }
        var loop = HTTPClientRequest(url: try #require(HTTPClientURL("http://127.0.0.1:\(server.port)/loop")))
        loop.maximumRedirects = 2
        do {
            _ = try await HTTPClient.execute(loop, on: server.group.next()).get()
            Issue.record("a redirect loop must fail")
        } catch let error as HTTPClientError {
            #expect(error.description.contains("too many redirects"))
        }
        let closed = try await CannedServer.start()
        let port = closed.port
        try await closed.stop()
        await #expect(throws: HTTPClientError.self) {
            try await HTTPClient.execute(HTTPClientRequest(url: HTTPClientURL("http://127.0.0.1:\(port)/")!), on: server.group.next()).get()
        }
        try await server.stop()
    }
}

/// Gathers a streamed body, taking each part only 2 ms after it arrived (a consumer slower than loopback).
private final class SlowCollector: HTTPClientResponseDelegate {
    let eventLoop: EventLoop
    let done: EventLoopPromise<(HTTPResponseHead, [UInt8])>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(eventLoop: EventLoop, done: EventLoopPromise<(HTTPResponseHead, [UInt8])>) {
        self.eventLoop = eventLoop
        self.done = done
    }

    func didReceiveHead(_ head: HTTPResponseHead) { self.head = head }

    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        body += bytes.readableBytesView
        return eventLoop.scheduleTask(in: .milliseconds(2)) {}.futureResult
    }

    func didFinish() { done.succeed((head!, body)) }

    func didFail(_ error: HTTPClientError) { done.fail(error) }
}

/// A loopback server with canned answers, by path.
private struct CannedServer {
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    /// 300 KB that are not all the same byte.
    static let streamBytes: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }

    static func start() async throws -> CannedServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return CannedServer(group: group, channel: channel)
    }

    func stop() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }

    private final class Answer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var received = ""
        private var answered = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            guard !answered, let end = received.range(of: "\r\n\r\n") else { return }
            let length = received.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }
                .flatMap { Int($0.dropFirst("Content-Length: ".count)) } ?? 0
            guard received.utf8.count - received[..<end.upperBound].utf8.count >= length else { return }
            answered = true
            let path = received.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let channel = context.channel
            func send(_ text: String, then bytes: [UInt8] = [], close: Bool = true) {
                var buffer = ByteBuffer(string: text)
                buffer.writeBytes(bytes)
                let written = channel.writeAndFlush(buffer)
                if close { written.whenComplete { _ in channel.close(promise: nil) } }
            }
            switch path {
            case "/moved": send("HTTP/1.0 302 Found\r\nLocation: /echo\r\n\r\n")
            case "/elsewhere": send("HTTP/1.0 302 Found\r\nLocation: http://localhost:\(channel.localAddress!.port!)/echo\r\n\r\n")
            case "/loop": send("HTTP/1.0 301 Moved\r\nLocation: http://127.0.0.1:\(channel.localAddress!.port!)/loop\r\n\r\n")
            case "/echo": send("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + received)
            case "/stream": send("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-metaint:16000\r\n\r\n", then: CannedServer.streamBytes)
            case "/icy": send("ICY 200 OK\r\nicy-name:Old Server\r\n\r\naudio")
            case "/stall": send("HTTP/1.0 200 OK\r\n\r\nabc", close: false)
            case "/silent": break
            default: send("HTTP/1.0 404 File Not Found\r\n\r\n")
            }
        }
    }
}
