/// The `Host` header, checked before it is written into a document (a playlist's stream URL): a host name, an
/// IPv4 address or a bracketed IPv6 address, with an optional port. Anything else (spaces, quotes, markup, a
/// second line, a path) is not a host, and the caller uses the configured hostname instead.
public enum HostHeader {
    /// `value` if it is a valid `host[:port]`, else `nil`.
    public static func validated(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 255 else { return nil }
        var host = Substring(value)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let literal = host[host.index(after: host.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                port = rest.dropFirst()
            }
            host = host[...close]
        } else {
            if let colon = host.firstIndex(of: ":") {
                port = host[host.index(after: colon)...]
                host = host[..<colon]
            }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard !host.isEmpty,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                        && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                })
            else { return nil }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port),
                (1...65535).contains(number)
            else { return nil }
        }
        return value
    }

    /// `host:port` for a URL: the `Host` header when valid (with `defaultPort` added when it has none), else the
    /// configured hostname and port, as Icecast does without a `Host` header.
    public static func authority(_ value: String?, defaultHost: String, defaultPort: Int) -> String {
        guard let host = validated(value) else { return "\(defaultHost):\(defaultPort)" }
        return hasPort(host) ? host : "\(host):\(defaultPort)"
    }

    /// Whether `authority` (`host[:port]`, an IPv6 literal in brackets) names a port.
    public static func hasPort(_ authority: String) -> Bool {
        authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
    }
}
