import Logging
import Synchronization

/// Keeps a test server's log lines in memory, so a test can check that a fault was logged, and how.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// Every line so far: `LEVEL message key=value …`, metadata sorted by key.
    public var all: [String] { lines.withLock { $0 } }

    /// The lines containing every one of `fragments`.
    public func lines(containing fragments: String...) -> [String] {
        all.filter { line in fragments.allSatisfy { line.contains($0) } }
    }

    var handler: LogHandler { Handler(capture: self) }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
