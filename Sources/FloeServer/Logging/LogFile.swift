import Foundation
import Synchronization

/// A log destination that can be reopened (after logrotate moved it away): a file, or standard output/error.
///
/// Lines are written by one thread of the log's own. `write` only appends the line to a queue under a lock
/// held for that append, so a burst of thousands of disconnects on every event loop never waits for the disk.
/// The writer takes everything queued at once and writes it with one system call. Order is kept, including a
/// `reopen`: lines queued before it go to the old file, lines after it to the new one. `close()` (at shutdown)
/// writes everything queued before returning; nothing is lost.
///
/// If the disk stops accepting lines, at most `maximumQueuedLines` wait; later lines are counted, dropped, and
/// the count is written once the disk takes lines again.
public final class LogFile: Sendable {
    /// Where lines go.
    public enum Destination: Sendable, Equatable {
        case standardOutput
        case standardError
        case file(String)
    }

    public let destination: Destination
    private let queue: Queue

    /// How many lines may wait for the writer.
    static let maximumQueuedLines = 100_000

    /// Opens `destination` for appending, creating the file if needed, and starts its writer thread.
    public init(_ destination: Destination) throws {
        self.destination = destination
        self.queue = Queue(handle: try Self.open(destination))
        let queue = self.queue
        let thread = Thread { queue.drain(destination: destination) }
        thread.name = "floe-log"
        thread.start()
    }

    /// Queues one line (a newline is added).
    public func write(_ line: String) {
        queue.append(.line(line))
    }

    /// Closes and opens the destination again once the lines queued so far are written, so later lines go to a
    /// fresh file after rotation.
    public func reopen() {
        guard case .file = destination else { return }
        queue.append(.reopen)
    }

    /// Returns once every line queued before the call is written.
    public func flush() {
        queue.waitUntilWritten()
    }

    /// Writes what is queued, then stops the writer. Lines written after this go out at once, on the caller's
    /// thread (a last message at exit is not lost either).
    public func close() {
        queue.close()
    }

    fileprivate static func open(_ destination: Destination) throws -> FileHandle {
        switch destination {
        case .standardOutput:
            return FileHandle.standardOutput
        case .standardError:
            return FileHandle.standardError
        case .file(let path):
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
            try handle.seekToEnd()
            return handle
        }
    }
}

extension LogFile {
    fileprivate enum Item {
        case line(String)
        case reopen
    }

    /// The lines waiting for the writer, and the writer's side of them.
    ///
    /// `@unchecked Sendable`: every stored property is read and written only with `condition` locked, except
    /// `handle`, which only the writer thread touches while it runs (and `close`'s caller after it stopped).
    fileprivate final class Queue: @unchecked Sendable {
        private let condition = NSCondition()
        private var items: [Item] = []
        private var dropped = 0
        /// Items appended so far, and items written so far: `flush` waits for the second to reach the first.
        private var appended = 0
        private var written = 0
        private var closed = false
        private var stopped = false
        private var handle: FileHandle

        init(handle: FileHandle) {
            self.handle = handle
        }

        func append(_ item: Item) {
            condition.lock()
            if stopped {
                condition.unlock()
                // The writer has gone (shutdown): write directly.
                if case .line(let line) = item { try? handle.write(contentsOf: Data((line + "\n").utf8)) }
                return
            }
            if items.count >= LogFile.maximumQueuedLines, case .line = item {
                dropped += 1
            } else {
                items.append(item)
                appended += 1
            }
            condition.signal()
            condition.unlock()
        }

        func waitUntilWritten() {
            condition.lock()
            let target = appended
            while written < target, !stopped {
                condition.wait()
            }
            condition.unlock()
        }

        func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            while !stopped {
                condition.wait()
            }
            condition.unlock()
        }

        /// The writer thread's loop.
        func drain(destination: Destination) {
            while true {
                condition.lock()
                while items.isEmpty, !closed {
                    condition.wait()
                }
                if items.isEmpty, closed {
                    stopped = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                let batch = items
                items.removeAll(keepingCapacity: true)
                let lost = dropped
                dropped = 0
                condition.unlock()

                var text = ""
                if lost > 0 { text += "[log] \(lost) lines dropped: the log could not keep up\n" }
                for item in batch {
                    switch item {
                    case .line(let line):
                        text += line
                        text += "\n"
                    case .reopen:
                        write(&text)
                        // Keep writing where we were if the new file cannot be opened.
                        if let reopened = try? LogFile.open(destination) {
                            try? handle.close()
                            handle = reopened
                        }
                    }
                }
                write(&text)

                condition.lock()
                written += batch.count
                condition.broadcast()
                condition.unlock()
            }
        }

        private func write(_ text: inout String) {
            guard !text.isEmpty else { return }
            try? handle.write(contentsOf: Data(text.utf8))
            text = ""
        }
    }
}
