import FloeCore
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import FloeServer

/// The router's table: which responder answers which request. Each new kind of request is a row here.
@Suite("Router")
struct RouterTests {
    let loop = EmbeddedEventLoop()

    func server() -> ServerContext {
        ServerContext(configuration: ServerConfiguration(), eventLoops: [loop], logger: Logger(label: "test"))
    }

    func request(_ method: String, _ uri: String, server: ServerContext) -> Request {
        Request(
            head: RequestHead(method: method, uri: uri, protocolName: "HTTP", protocolVersion: "1.0", headers: []),
            snapshot: server.snapshot,
            isTLS: false,
            peer: "127.0.0.1",
            connectionID: 1,
            leftover: ByteBuffer(),
            shoutcastMount: nil,
            logger: Logger(label: "test")
        )
    }

    @Test(arguments: [
        ("SOURCE", "/live", "SourceResponder"),
        ("PUT", "/live", "SourceResponder"),
        ("GET", "/admin/stats", "AdminResponder"),
        ("GET", "/admin/", "AdminResponder"),
        ("GET", "/admin", "AdminResponder"),
        ("GET", "/admin.cgi?mode=updinfo", "AdminResponder"),
        ("GET", "/status-json.xsl", "PublicStatusResponder"),
        ("HEAD", "/status.xsl", "PublicStatusResponder"),
        ("GET", "/metrics", "PublicStatusResponder"),
        ("GET", "/live.m3u", "PublicStatusResponder"),
        ("GET", "/live.sdp", "PublicStatusResponder"),
        ("GET", "/live", "ListenerResponder"),
        ("HEAD", "/live", "ListenerResponder"),
        ("GET", "/index.html", "ListenerResponder"),
        ("OPTIONS", "*", "OptionsResponder"),
        ("DELETE", "/live", "MethodNotAllowedResponder"),
        ("POST", "/admin/stats", "MethodNotAllowedResponder"),
    ])
    func eachRequestHasItsResponder(method: String, uri: String, responder: String) {
        let server = server()
        let router = Router(server: server, eventLoop: loop)
        let chosen = router.responder(for: request(method, uri, server: server))
        #expect(String(describing: type(of: chosen)) == responder)
    }

    /// A live mount named like a public view is a mount first, as in Icecast.
    @Test func aLiveMountNamedLikeAViewIsServedAsAMount() {
        let server = server()
        let router = Router(server: server, eventLoop: loop)
        let mount = server.mounts.mountCreatingIfNeeded("/metrics", queueCapacity: .bytes(1 << 16), hls: HLSConfiguration())
        #expect(router.responder(for: request("GET", "/metrics", server: server)) is PublicStatusResponder)
        _ = mount.sourceConnected(id: 1, descriptor: SourceDescriptor(contentType: "audio/mpeg", headers: [], peerAddress: "x"))
        #expect(router.responder(for: request("GET", "/metrics", server: server)) is ListenerResponder)
    }
}

/// Which `Origin`/`Referer` values name the site the admin request was sent to.
@Suite("Same-site admin requests")
struct SameSiteTests {
    @Test func originsAndHosts() {
        #expect(AdminResponder.isSameAuthority("http://127.0.0.1:8000", as: "127.0.0.1:8000"))
        #expect(AdminResponder.isSameAuthority("http://radio.example/admin/", as: "radio.example:80"))
        #expect(AdminResponder.isSameAuthority("https://radio.example", as: "radio.example"), "TLS at a proxy that keeps Host")
        #expect(!AdminResponder.isSameAuthority("http://127.0.0.1:1", as: "127.0.0.1:8000"))
        #expect(!AdminResponder.isSameAuthority("http://evil.example", as: "radio.example"))
        #expect(!AdminResponder.isSameAuthority("null", as: "radio.example"))
        #expect(!AdminResponder.isSameAuthority("http://radio.example", as: nil))
    }
}
