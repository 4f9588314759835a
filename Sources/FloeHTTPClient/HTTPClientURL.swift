import Foundation

/// An `http://` or `https://` URL as the client needs it: host (an IPv6 literal without its brackets), port, the
/// path with its query, and the credentials it carries (`http://user:pass@host/`, percent-decoded).
///
/// ```
///  http://user:pass@[2001:db8::1]:8000/live?x=1
///         ╰──┬───╯  ╰─────┬─────╯ ╰┬─╯╰──┬───╯
///       credentials     host      port  path
/// ```
public struct HTTPClientURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Starts with `/`; includes the query.
    public var path: String
    public var user: String?
    public var password: String?
    /// `https`: the connection is TLS, and the server's certificate is verified.
    public var isTLS: Bool

    /// Parses `http://…` and `https://…`; `nil` for any other scheme, an empty host, or a bad port.
    public init?(_ text: String) {
        let lowered = text.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else { return nil }
        isTLS = lowered.hasPrefix("https://")
        var rest = Substring(text.dropFirst(isTLS ? "https://".count : "http://".count))
        let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<pathStart]
        rest = rest[pathStart...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        path = rest.isEmpty ? "/" : (rest.hasPrefix("?") ? "/" + rest : String(rest))
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            password = parts.count == 2 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            port = isTLS ? 443 : 80
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
    }

    /// The `Host:` header: `host:port`, an IPv6 literal in brackets.
    public var hostHeader: String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// The URL without credentials (for logs).
    public var description: String {
        "\(isTLS ? "https" : "http")://\(hostHeader)\(path)"
    }

    /// The URL `location` (a `Location:` header) points to from here: absolute, or a path on the same server.
    /// Whether `other` has the same scheme, host (ignoring case) and port.
    public func hasSameOrigin(as other: HTTPClientURL) -> Bool {
        isTLS == other.isTLS && host.lowercased() == other.host.lowercased() && port == other.port
    }

    public func resolving(_ location: String) -> HTTPClientURL? {
        let lowered = location.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") { return HTTPClientURL(location) }
        guard location.hasPrefix("/") else { return nil }
        var next = self
        next.path = location
        return next
    }
}
