import FloeCore
import NIOCore
import NIOPosix

/// The HTTP client behind URL authentication: one `POST` of a form, HTTP/1.0, read to the end of the reply.
///
/// Deliberately small: auth services are plain HTTP endpoints (`http://host[:port]/path`) answering with a
/// status and headers, and Icecast speaks nothing more to them either. Runs on the listener's event loop.
enum URLAuthClient {
    struct Response: Sendable {
        var status: Int
        /// Header lines as received (`name: value`), names as sent.
        var headers: [(name: String, value: String)]

        /// Whether a header line equal to `line` (`icecast-auth-user: 1`, case-insensitive name) is present.
        func contains(line: String) -> Bool {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { return false }
            let name = parts[0].trimmingSpaces().lowercased()
            let value = parts[1].trimmingSpaces()
            return headers.contains { $0.name.lowercased() == name && $0.value.trimmingSpaces() == value }
        }

        /// The value of the header called `name` (`icecast-auth-timelimit:` or without its colon).
        func value(of name: String) -> String? {
            let wanted = name.trimmingSpaces().lowercased().replacingOccurrences(of: ":", with: "")
            return headers.first { $0.name.lowercased() == wanted }?.value
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// POSTs `form` to `url` and reads the reply; fails on a bad URL, a connection error or `timeout`.
    static func post(
        url: String,
        form: [(name: String, value: String)],
        credentials: BasicCredentials?,
        on eventLoop: EventLoop,
        timeout: TimeAmount = .seconds(5)
    ) -> EventLoopFuture<Response> {
        guard let target = Target(url) else {
            return eventLoop.makeFailedFuture(Failure(description: "not an http:// URL: \(url)"))
        }
        let body = form.map { "\(escape($0.name))=\(escape($0.value))" }.joined(separator: "&")
        var request = "POST \(target.path) HTTP/1.0\r\nHost: \(target.host):\(target.port)\r\n"
        request += "User-Agent: Floe\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        request += "Content-Length: \(body.utf8.count)\r\n"
        if let credentials { request += "Authorization: \(credentials.authorizationHeader)\r\n" }
        request += "\r\n" + body

        let promise = eventLoop.makePromise(of: Response.self)
        let timer = eventLoop.scheduleTask(in: timeout) { promise.fail(Failure(description: "no reply from \(url)")) }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyCollector(promise: promise))
                }
            }
            .connect(host: target.host, port: target.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    promise.fail(error)
                }
            }
        return promise.futureResult
    }

    /// Form encoding: everything but unreserved characters percent-escaped.
    static func escape(_ text: String) -> String {
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

    /// `http://host[:port]/path`.
    struct Target {
        var host: String
        var port: Int
        var path: String

        init?(_ url: String) {
            guard url.lowercased().hasPrefix("http://") else { return nil }
            let rest = url.dropFirst("http://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<slash]
            path = slash < rest.endIndex ? String(rest[slash...]) : "/"
            if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
                host = String(authority[..<colon])
                self.port = port
            } else {
                host = String(authority)
                port = 80
            }
            guard !host.isEmpty else { return nil }
        }
    }

    /// Gathers the whole reply (HTTP/1.0: the server closes when done), at most 64 KiB.
    private final class ReplyCollector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let promise: EventLoopPromise<Response>
        private var received = ByteBuffer()

        init(promise: EventLoopPromise<Response>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            if received.readableBytes > 64 * 1024 { context.close(promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            let text = String(buffer: received)
            let head = text.components(separatedBy: "\r\n\r\n").first ?? text
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.isEmpty ? "" : lines.removeFirst()
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else {
                promise.fail(Failure(description: "malformed reply: \(statusLine)"))
                return
            }
            let headers = lines.compactMap { line -> (name: String, value: String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...].trimmingSpaces()))
            }
            promise.succeed(Response(status: status, headers: headers))
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
