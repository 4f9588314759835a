/// The head of a request as Icecast clients send it: a request line and header fields.
///
/// Icecast speaks a small dialect of HTTP/1.0: `SOURCE` and `PUT` carry raw audio after the head with no body
/// length, `ICE/1.0` is a valid protocol token, and every response closes the connection. Floe therefore reads
/// heads itself (see `RequestHeadParser`) rather than through a general HTTP decoder.
public struct RequestHead: Sendable, Equatable {
    /// Method as sent, upper-case (`GET`, `SOURCE`, `PUT`, …).
    public var method: String
    /// Request target as sent, including any query string.
    public var uri: String
    /// Protocol token: `HTTP` or `ICE`.
    public var protocolName: String
    /// Protocol version as sent (`1.0`, `1.1`).
    public var protocolVersion: String
    /// Header fields in order of arrival; names keep the client's spelling.
    public var headers: [(name: String, value: String)]

    public init(
        method: String,
        uri: String,
        protocolName: String = "HTTP",
        protocolVersion: String = "1.0",
        headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.uri = uri
        self.protocolName = protocolName
        self.protocolVersion = protocolVersion
        self.headers = headers
    }

    /// The first value of a header, matched case-insensitively as httpp does.
    public subscript(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The path without its query string, percent-decoded as Icecast's `util_normalise_uri` does
    /// (`/live%2Emp3` is `/live.mp3`): what mounts are matched against.
    public var path: String {
        let raw = uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri[...]
        guard raw.contains("%") else { return String(raw) }
        return String(decoding: QueryString.percentDecode(raw, plusAsSpace: false), as: UTF8.self)
    }

    /// Whether the client asks to switch this connection to TLS (RFC 2817: `Upgrade: TLS/1.0` with
    /// `Connection: Upgrade`), as libshout does by default before it logs in.
    public var asksForTLSUpgrade: Bool {
        func tokens(_ name: String) -> [Substring] {
            (self[name] ?? "").split(separator: ",").map { $0.drop(while: { $0 == " " || $0 == "\t" }) }
        }
        let upgradesToTLS = tokens("upgrade").contains { $0.lowercased().hasPrefix("tls/") }
        let connectionUpgrade = tokens("connection").contains { $0.lowercased().hasPrefix("upgrade") }
        return upgradesToTLS && connectionUpgrade
    }

    /// Query parameters, percent-decoded as raw bytes (charset decisions are the caller's).
    public var queryItems: [(name: String, value: [UInt8])] {
        guard let question = uri.firstIndex(of: "?") else { return [] }
        return QueryString.parse(uri[uri.index(after: question)...])
    }

    /// The first query parameter called `name`, decoded as UTF-8 (invalid sequences repaired).
    public func queryValue(_ name: String) -> String? {
        guard let bytes = queryItems.first(where: { $0.name == name })?.value else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func == (lhs: RequestHead, rhs: RequestHead) -> Bool {
        lhs.method == rhs.method && lhs.uri == rhs.uri && lhs.protocolName == rhs.protocolName
            && lhs.protocolVersion == rhs.protocolVersion
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// `application/x-www-form-urlencoded` decoding of a query string.
public enum QueryString {
    /// Splits `a=1&b=%41+c` into names and byte values. `+` is a space; a bad escape is kept literally.
    public static func parse(_ query: Substring) -> [(name: String, value: [UInt8])] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: percentDecode(parts[0]), as: UTF8.self)
            let value = parts.count > 1 ? percentDecode(parts[1]) : []
            return (name, value)
        }
    }

    /// Percent-decodes to bytes, turning `+` into a space in query strings (not in paths).
    public static func percentDecode(_ text: Substring, plusAsSpace: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            switch byte {
            case UInt8(ascii: "+") where plusAsSpace:
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                if iterator.count >= 2, let high = hexValue(iterator[iterator.startIndex]),
                    let low = hexValue(iterator[iterator.startIndex + 1])
                {
                    out.append(high << 4 | low)
                    iterator = iterator.dropFirst(2)
                } else {
                    out.append(byte)
                }
            default:
                out.append(byte)
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
