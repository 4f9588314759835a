import Foundation
import Synchronization

/// A log destination that can be reopened (after logrotate moved it away): a file, or standard output/error.
public final class LogFile: Sendable {
    /// Where lines go.
    public enum Destination: Sendable, Equatable {
        case standardOutput
        case standardError
        case file(String)
    }

    public let destination: Destination
    private let handle: Mutex<FileHandle?>

    /// Opens `destination` for appending, creating the file if needed.
    public init(_ destination: Destination) throws {
        self.destination = destination
        self.handle = Mutex(try Self.open(destination))
    }

    /// Appends one line (a newline is added).
    public func write(_ line: String) {
        let data = Data((line + "\n").utf8)
        handle.withLock { handle in
            try? handle?.write(contentsOf: data)
        }
    }

    /// Closes and opens the destination again, so writes go to a fresh file after rotation.
    public func reopen() {
        guard case .file = destination else { return }
        guard let reopened = try? Self.open(destination) else { return }  // keep writing where we were
        handle.withLock { handle in
            try? handle?.close()
            handle = reopened
        }
    }

    private static func open(_ destination: Destination) throws -> FileHandle {
        switch destination {
        case .standardOutput:
            return FileHandle.standardOutput
        case .standardError:
            return FileHandle.standardError
        case .file(let path):
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
            try handle.seekToEnd()
            return handle
        }
    }
}
