import FloeCore
import FloeHTTPClient
import NIOCore
import NIOHTTP1

/// URL authentication's side of the HTTP client: one form `POST` to the auth service, the reply's status and
/// headers (Icecast's services answer with `icecast-auth-user: 1` and friends, the body is not read).
enum URLAuthClient {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders

        /// Whether a header line equal to `line` (`icecast-auth-user: 1`, case-insensitive name) is present.
        func contains(line: String) -> Bool {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { return false }
            let name = String(parts[0].trimmingSpaces())
            let value = String(parts[1].trimmingSpaces())
            return headers[name].contains { $0.trimmingSpaces() == value }
        }

        /// The value of the header called `name` (`icecast-auth-timelimit:` or without its colon), without the
        /// spaces around it (a time limit of `2 ` was once no time limit at all).
        func value(of name: String) -> String? {
            headers.first(name: name.trimmingSpaces().replacingOccurrences(of: ":", with: "")).map { String($0.trimmingSpaces()) }
        }
    }

    /// POSTs `form` to `url` and reads the reply; fails on a bad URL, a connection error, a certificate that
    /// neither the system's store nor `caFile` vouches for, or `timeout`.
    static func post(
        url: String,
        form: [(name: String, value: String)],
        credentials: BasicCredentials?,
        caFile: String?,
        on eventLoop: EventLoop,
        timeout: TimeAmount = .seconds(5)
    ) -> EventLoopFuture<Response> {
        guard let target = HTTPClientURL(url) else {
            return eventLoop.makeFailedFuture(HTTPClientError("not an http:// or https:// URL: \(url)"))
        }
        var request = HTTPClientRequest.form(form, to: target)
        request.user = credentials?.user
        request.password = credentials?.password
        request.timeout = timeout
        request.caFile = caFile
        // The whole reply within `timeout`, as before: a service that sends a head and stalls cannot hold a
        // listener waiting.
        request.deadline = timeout
        return HTTPClient.execute(request, on: eventLoop, maximumBodyBytes: 64 * 1024)
            .map { Response(status: $0.status, headers: $0.head.headers) }
    }
}
