import FloeCore
import Foundation
import Logging

/// A swift-log handler writing Icecast-style error log lines to a `LogFile`:
/// `[2026-11-21  15:20:34] INFO floe: Source logged in mount.path=/live source.peer=127.0.0.1`.
public struct ErrorLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let file: LogFile

    public init(label: String, file: LogFile, level: Logger.Level) {
        self.label = label
        self.file = file
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        // Values come from sources and listeners (titles, user agents, mount names): control characters are
        // escaped so that one log line stays one line and nobody can forge another.
        let fields = merged.sorted { $0.key < $1.key }
            .map { "\(Self.escapeControlCharacters($0.key))=\(Self.escapeControlCharacters("\($0.value)"))" }
            .joined(separator: " ")
        let level: String
        switch event.level {
        case .trace, .debug: level = "DBUG"
        case .info, .notice: level = "INFO"
        case .warning: level = "WARN"
        case .error, .critical: level = "EROR"
        }
        let message = Self.escapeControlCharacters("\(event.message)")
        file.write("[\(Self.timestamp())] \(level) \(label): \(message)\(fields.isEmpty ? "" : " " + fields)")
        // What explains a crash must reach the disk before it: critical lines wait for the writer.
        if event.level == .critical { file.flush() }
    }

    /// Control characters (CR, LF, ESC, …) as `\xNN`: nothing a source or listener sends can end a line or
    /// colour a terminal. Quotes and other text stay as they are.
    static func escapeControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Icecast's error-log time stamp, local time (two spaces between date and time).
    static func timestamp(_ date: Date = Date()) -> String {
        TimeFormat.local(date, "%Y-%m-%d  %H:%M:%S") ?? ""
    }
}
