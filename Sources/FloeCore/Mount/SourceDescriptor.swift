import Foundation

/// What a source told Floe about its stream when it logged in.
public struct SourceDescriptor: Sendable, Equatable {
    /// `Content-Type` as sent (`audio/mpeg` when absent).
    public var contentType: String
    /// The format decided from the content type.
    public var format: StreamFormat
    /// Request headers, names lower-cased, in order of arrival.
    public var headers: [(name: String, value: String)]
    /// `User-Agent`, if sent.
    public var userAgent: String?
    /// Peer address, for status pages and logs.
    public var peerAddress: String
    /// When the source logged in (for `stream_start` and uptime).
    public var connectedAt: Date
    /// The upstream stream a relay feeds the mount from (its URL without credentials); `nil` for a source client.
    public var relayUpstream: String?

    public init(
        contentType: String?,
        headers: [(name: String, value: String)],
        peerAddress: String,
        connectedAt: Date = Date(timeIntervalSince1970: 0)
    ) {
        self.connectedAt = connectedAt
        self.contentType = Self.headerSafe(contentType ?? "audio/mpeg")
        self.format = StreamFormat(contentType: contentType)
        // Credentials are checked at login and never kept: nothing that lists source headers can leak them.
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }.filter {
            $0.name != "authorization" && $0.name != "ice-password"
        }
        self.userAgent = headers.first { $0.name.lowercased() == "user-agent" }?.value
        self.peerAddress = peerAddress
    }

    /// The first value of a (lower-case) header.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// The `icy-*` header lines a listener receives, in Icecast 2.4's order and spelling.
    ///
    /// Icecast keeps source headers in a tree sorted by name and emits, for each `ice-*` header, the `icy-`
    /// equivalent (`ice-public` → `icy-pub`, `ice-bitrate` → `icy-br`), passes `icy-*` headers through, keeps
    /// `ice-audio-info` (with a space after its colon) preceded by `icy-br` from its `bitrate=` entry, and drops
    /// everything else. Names are lower-case with no space after the colon; some players match them exactly.
    /// Floe differs in one detail: it does not repeat `icy-br` when both `ice-audio-info` and `ice-bitrate` give
    /// one. Mount settings override the source's name, description, URL and genre.
    public func listenerHeaderLines(overrides mount: MountConfiguration) -> [String] {
        var byName: [String: String] = [:]
        for (name, value) in headers where byName[name] == nil {
            byName[name] = value
        }
        let overrides: [String: String?] = [
            "ice-name": mount.streamName, "ice-description": mount.streamDescription,
            "ice-url": mount.streamURL, "ice-genre": mount.genre,
        ]
        for (name, value) in overrides {
            if let value { byName[name] = value }
        }
        // icy-* headers from the source and ice-* translations may name the same field; the first wins.
        var emitted = Set<String>()
        var lines: [String] = []
        let hasExplicitBitrate = byName["ice-bitrate"] != nil || byName["icy-br"] != nil
        for name in byName.keys.sorted() {
            let value = byName[name]!
            switch name {
            case "ice-password", "icy-metaint", "icy-metadata", "ice-audio-info":
                if name == "ice-audio-info" {
                    if !hasExplicitBitrate, let bitrate = Self.audioInfo(value)["bitrate"], emitted.insert("icy-br").inserted {
                        lines.append("icy-br:\(bitrate)")
                    }
                    lines.append("ice-audio-info: \(Self.headerSafe(value))")
                }
            default:
                let listenerName: String
                if name.hasPrefix("ice-") {
                    switch name {
                    case "ice-public": listenerName = "icy-pub"
                    case "ice-bitrate": listenerName = "icy-br"
                    default: listenerName = "icy-" + name.dropFirst(4)
                    }
                } else if name.hasPrefix("icy-") {
                    listenerName = name
                } else {
                    continue
                }
                if emitted.insert(listenerName).inserted {
                    lines.append("\(listenerName):\(Self.headerSafe(value))")
                }
            }
        }
        return lines
    }

    /// The bitrate the source declared, in kbit/s: `ice-bitrate`, `icy-br`, or `ice-audio-info`'s `bitrate=`.
    public var declaredBitrate: Int? {
        let declared = header("ice-bitrate") ?? header("icy-br") ?? header("ice-audio-info").flatMap { Self.audioInfo($0)["bitrate"] }
        return declared.flatMap { Int($0.trimmingSpaces()) }.flatMap { $0 > 0 && $0 < 100_000 ? $0 : nil }
    }

    /// `ice-audio-info` entries (`bitrate=128;samplerate=44100`), values percent-decoded.
    public static func audioInfo(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        for entry in value.split(separator: ";") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            var key = String(parts[0].trimmingSpaces())
            if key.hasPrefix("ice-") { key.removeFirst(4) }
            result[key] = String(decoding: QueryString.percentDecode(parts[1]), as: UTF8.self)
        }
        return result
    }

    /// Removes line breaks so a source cannot inject header lines into listener responses.
    static func headerSafe(_ value: String) -> String {
        // Filter scalars, not Characters: "\r\n" is a single Character.
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
        return String(scalars)
    }
}

extension SourceDescriptor {
    public static func == (lhs: SourceDescriptor, rhs: SourceDescriptor) -> Bool {
        lhs.contentType == rhs.contentType && lhs.peerAddress == rhs.peerAddress
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}
