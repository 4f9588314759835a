import Foundation
import NIOCore
import NIOHTTP1

/// One request: what to ask, and how patient to be.
public struct HTTPClientRequest: Sendable {
    public var method: HTTPMethod
    public var url: HTTPClientURL
    /// Sent as given, after `Host`, `User-Agent` and `Authorization` (which the client adds).
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    /// Basic credentials; those in the URL when not set.
    public var user: String?
    public var password: String?
    /// Ask for in-band ICY titles (`Icy-MetaData: 1`); the response head's `icy-metaint` says where they are.
    public var wantsICYMetadata = false
    /// Icecast speaks HTTP/1.0 to relays and players: the body is then raw bytes until the server closes.
    public var version = HTTPVersion.http1_0
    /// For connecting, and then for the response head.
    public var timeout = TimeAmount.seconds(10)
    /// For the whole exchange, body included (`execute` only; a stream has `idleTimeout` instead).
    public var deadline: TimeAmount?
    /// A streamed body that brings nothing for this long fails (`nil`: wait for ever).
    public var idleTimeout: TimeAmount?
    /// Redirects (301, 302, 303, 307, 308) followed for `GET`, at most this many.
    public var maximumRedirects = 3
    public var userAgent = "Floe"
    /// For `https`: a PEM file of CA certificates trusted besides the system's (a private CA, a test's).
    public var caFile: String?

    public init(method: HTTPMethod = .GET, url: HTTPClientURL, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A form POST (`application/x-www-form-urlencoded`), as URL authentication sends it.
    public static func form(
        _ fields: [(name: String, value: String)],
        to url: HTTPClientURL
    ) -> HTTPClientRequest {
        let text = fields.map { "\(formEscape($0.name))=\(formEscape($0.value))" }.joined(separator: "&")
        var request = HTTPClientRequest(method: .POST, url: url, body: ByteBuffer(string: text))
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        return request
    }

    /// Form encoding: everything but unreserved characters percent-escaped.
    public static func formEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// The head as sent to `url` (which may be a redirect's target).
    func head(for url: HTTPClientURL) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "User-Agent", value: userAgent)
        if let user = user ?? url.user {
            let token = Data("\(user):\(password ?? url.password ?? "")".utf8).base64EncodedString()
            headers.add(name: "Authorization", value: "Basic \(token)")
        }
        if wantsICYMetadata { headers.add(name: "Icy-MetaData", value: "1") }
        headers.add(contentsOf: self.headers)
        if let body { headers.replaceOrAdd(name: "Content-Length", value: "\(body.readableBytes)") }
        return HTTPRequestHead(version: version, method: method, uri: url.path, headers: headers)
    }
}
