import FloeCore

/// What a plain-HTTP request gets on a TLS-only socket, instead of the reset Icecast 2.4 gives it.
///
/// A `GET` or `HEAD` (a browser, a player given an `http://` link) is sent to the same URL over `https`, which
/// players and browsers follow. Anything else (a source's `PUT` or `SOURCE`) gets `426 Upgrade Required` with
/// `Upgrade: TLS/1.0`: libshout then asks to upgrade the connection (RFC 2817), and other clients read a plain
/// text saying what to do. (A client that asks to upgrade never gets here: see `RequestHeadHandler`.)
enum PlainRequestOnTLSSocket {
    static func response(to head: RequestHead, snapshot: ConfigurationSnapshot, port: Int?) -> IcecastResponse {
        let configuration = snapshot.configuration
        let authority = HostHeader.authority(head["host"], defaultHost: configuration.hostname, defaultPort: port ?? 443)
        let url = "https://\(authority)\(head.originForm)"
        if head.method == "GET" || head.method == "HEAD" {
            return .redirect(301, to: url, because: "This port takes TLS only:")
        }
        return IcecastResponse(
            status: 426,
            contentType: "text/plain; charset=utf-8",
            extraHeaders: ["Upgrade: TLS/1.0, HTTP/1.1"],
            body: Array("This port takes TLS only: connect with TLS (https), or upgrade with Upgrade: TLS/1.0\r\n".utf8)
        )
    }
}
