import FloeCore
import Foundation

/// Icecast's access log: Combined Log Format plus the seconds the client was connected, one line when a
/// connection ends.
///
/// ```
/// 127.0.0.1 - - [21/Nov/2026:15:23:41 +0000] "GET /main.mp3 HTTP/1.0" 200 242586 "-" "VLC/3.0" 15
/// ```
/// The request is logged without its query string (which can carry passwords), and the user when the client
/// authenticated.
public final class AccessLog: Sendable {
    private let file: LogFile

    public init(file: LogFile) {
        self.file = file
    }

    public func record(_ entry: AccessRecord) {
        file.write(entry.line)
    }

    public func reopen() {
        file.reopen()
    }

    /// Writes what is queued and stops the log's writer (at shutdown).
    public func close() {
        file.close()
    }
}

/// One connection, as the access log shows it.
public struct AccessRecord: Sendable {
    public var peer: String
    public var user: String?
    public var started: Date
    public var method: String
    public var path: String
    public var protocolToken: String
    public var status: Int
    public var bytes: Int
    public var referer: String?
    public var userAgent: String?

    public init(
        peer: String,
        user: String? = nil,
        started: Date,
        method: String,
        path: String,
        protocolToken: String,
        status: Int,
        bytes: Int,
        referer: String? = nil,
        userAgent: String? = nil
    ) {
        self.peer = peer
        self.user = user
        self.started = started
        self.method = method
        self.path = path
        self.protocolToken = protocolToken
        self.status = status
        self.bytes = bytes
        self.referer = referer
        self.userAgent = userAgent
    }

    /// The formatted line, ending the connection now.
    public var line: String {
        let seconds = max(0, Int(Date().timeIntervalSince(started)))
        return "\(peer) - \(Self.escape(user ?? "-")) [\(Self.timestamp(started))] "
            + "\"\(Self.escape(method)) \(Self.escape(path)) \(Self.escape(protocolToken))\" \(status) \(bytes) "
            + "\"\(Self.escape(referer ?? "-"))\" \"\(Self.escape(userAgent ?? "-"))\" \(seconds)"
    }

    /// Keeps a line one line: quotes, backslashes and control characters are escaped, as Icecast's `%H` does.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\x%02X", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `21/Nov/2026:15:23:41 +0000`, in UTC.
    static func timestamp(_ date: Date) -> String {
        TimeFormat.utc(date, "%d/%b/%Y:%H:%M:%S +0000")
    }
}
