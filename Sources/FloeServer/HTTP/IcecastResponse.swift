import FloeCore
import NIOCore

/// Builds responses the way Icecast 2.4's `util_http_build_header` does, so clients that parse them byte by
/// byte see what they expect.
///
/// ```
///  HTTP/1.0 <code> <reason>
///  Server: <server-id>
///  Connection: Close
///  Date: <RFC 1123>
///  Content-Type: <type>
///  [WWW-Authenticate: Basic realm="Icecast2 Server"]     only on 401
///  Cache-Control: no-cache, no-store                       (or one Cache-Control line of the caller's)
///  Expires: Mon, 26 Jul 1997 05:00:00 GMT
///  Pragma: no-cache
///  <configured http-headers>
///  <extra headers>
///  [Content-Length: n]                                    when there is a body
/// ```
struct IcecastResponse {
    var status: Int
    var contentType: String?
    /// Lines added after the standard ones, already formatted (`name: value` or Icecast's `icy-name:value`).
    var extraHeaders: [String] = []
    var body: [UInt8]? = nil
    /// Replaces Icecast's three no-cache headers with one `Cache-Control` (HLS playlists and segments are made for
    /// caches).
    var cacheControl: String? = nil

    /// The exact 19 bytes a source gets when it may start streaming. No other header: clients such as
    /// Liquidsoap break on anything else (savonet/liquidsoap#792).
    static let sourceAccepted = "HTTP/1.0 200 OK\r\n\r\n"
    /// What `PUT` with `Expect: 100-continue` gets before the 200, as Icecast 2.4 sends it.
    static let continueInterim = "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n"

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Authentication Required"
        case 403: return "Forbidden"
        case 404: return "File Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 426: return "Upgrade Required"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Unknown"
        }
    }

    /// Icecast's error responses: 401 and 403 are plain text (401 with its fixed body and the Basic challenge),
    /// 400 and 404 are a small HTML page.
    /// A redirect (`301`, `302`) to `location`, its body a line of text: `reason`, then the location.
    static func redirect(_ status: Int, to location: String, because reason: String) -> IcecastResponse {
        IcecastResponse(
            status: status,
            contentType: "text/plain; charset=utf-8",
            extraHeaders: ["Location: \(location)"],
            body: Array("\(reason) \(location)\r\n".utf8)
        )
    }

    static func error(_ status: Int, _ message: String) -> IcecastResponse {
        switch status {
        case 401:
            return IcecastResponse(
                status: 401,
                contentType: "text/plain; charset=utf-8",
                body: Array("You need to authenticate\r\n".utf8)
            )
        case 400, 404:
            let html = "<html><head><title>Error \(status)</title></head><body><b>\(status) - \(message)</b></body></html>\r\n"
            return IcecastResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
        default:
            return IcecastResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(message.utf8))
        }
    }

    /// The response as bytes, with `serverID` and the configured global headers. With `keepAlive` it is an
    /// HTTP/1.1 response without `Connection: Close`, after which the client may send another request.
    func encoded(serverID: String, httpHeaders: [ServerConfiguration.HTTPHeaderRule], keepAlive: Bool = false) -> ByteBuffer {
        var text = "HTTP/\(keepAlive ? "1.1" : "1.0") \(status) \(Self.reason(status))\r\n"
        text += "Server: \(serverID)\r\n\(keepAlive ? "Connection: Keep-Alive\r\n" : "Connection: Close\r\n")Date: \(HTTPDate.now())\r\n"
        if let contentType { text += "Content-Type: \(contentType)\r\n" }
        if status == 401 { text += "WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n" }
        if let cacheControl {
            text += "Cache-Control: \(cacheControl)\r\n"
        } else {
            text += "Cache-Control: no-cache, no-store\r\nExpires: Mon, 26 Jul 1997 05:00:00 GMT\r\nPragma: no-cache\r\n"
        }
        for rule in httpHeaders where rule.status == nil || rule.status == status {
            text += "\(rule.name): \(rule.value)\r\n"
        }
        for line in extraHeaders { text += line + "\r\n" }
        if let body { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count + (body?.count ?? 0))
        buffer.writeString(text)
        if let body { buffer.writeBytes(body) }
        return buffer
    }

    /// Headers browsers need to play a mount and read its ICY metadata from another origin (Icecast 2.4 has
    /// none, which is the most common complaint from web players).
    static func corsHeaders(alreadyConfigured: [ServerConfiguration.HTTPHeaderRule]) -> [String] {
        var lines: [String] = []
        if !alreadyConfigured.contains(where: { $0.name.lowercased() == "access-control-allow-origin" }) {
            lines.append("Access-Control-Allow-Origin: *")
        }
        lines.append("Access-Control-Allow-Methods: GET, HEAD, OPTIONS")
        lines.append("Access-Control-Allow-Headers: Content-Type, Icy-MetaData, Range")
        lines.append(
            "Access-Control-Expose-Headers: Icy-MetaInt, Icy-Br, Icy-Description, Icy-Genre, Icy-Name, "
                + "Ice-Audio-Info, Icy-Url, Icy-Sr, Icy-Vbr, Icy-Pub"
        )
        return lines
    }
}
