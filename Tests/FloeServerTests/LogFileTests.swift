import Foundation
import Logging
import Testing

@testable import FloeServer

/// The log writer: one thread writes what every loop queues, in order, and nothing is lost at a reopen or at close.
@Suite("Log file")
struct LogFileTests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("floe-log-\(UUID().uuidString)-\(name)").path
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func linesFromManyThreadsAreAllWrittenEachThreadInOrder() async throws {
        let path = temporaryPath("many")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try LogFile(.file(path))
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<8 {
                group.addTask {
                    for line in 0..<2_500 { log.write("t\(thread) \(line)") }
                }
            }
        }
        log.flush()
        let written = try lines(path)
        #expect(written.count == 20_000)
        for thread in 0..<8 {
            let mine = written.filter { $0.hasPrefix("t\(thread) ") }.map { Int($0.split(separator: " ")[1])! }
            #expect(mine == Array(0..<2_500), "thread \(thread)'s lines in order")
        }
        log.close()
    }

    /// logrotate: the file is renamed, then the server reopens. Lines queued before the reopen stay in the old
    /// file, lines after it go to the new one; `close` writes what is still queued.
    @Test func reopenSplitsTheLinesWhereItWasAskedAndCloseLosesNothing() throws {
        let path = temporaryPath("rotate")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".1")
        }
        let log = try LogFile(.file(path))
        for line in 0..<1_000 { log.write("before \(line)") }
        log.flush()
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        for line in 0..<1_000 { log.write("still old \(line)") }
        log.reopen()
        for line in 0..<1_000 { log.write("after \(line)") }
        log.close()
        let old = try lines(path + ".1")
        let new = try lines(path)
        #expect(old.count == 2_000 && old.allSatisfy { $0.hasPrefix("before") || $0.hasPrefix("still old") })
        #expect(new == (0..<1_000).map { "after \($0)" })
        log.write("after close")
        #expect(try lines(path).last == "after close", "written directly once the writer has stopped")
    }

    /// A title or user agent with CR/LF cannot forge a second error-log line.
    @Test func controlCharactersInLoggedValuesCannotForgeLines() throws {
        let path = temporaryPath("forge")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try LogFile(.file(path))
        let logger = Logger(label: "floe") { label in ErrorLogHandler(label: label, file: file, level: .info) }
        let forged = "Title\r\n[2026-12-02  10:00:00] EROR floe: Admin password is hunter2\u{1b}[2J"
        logger.info("Metadata on mountpoint /live changed to \"\(forged)\"", metadata: ["title": "\(forged)", "agent": "a\nb"])
        file.close()
        let written = try lines(path)
        #expect(written.count == 1, "one event, one line: \(written)")
        #expect(written[0].contains("Title\\x0D\\x0A[2026-12-02"))
        #expect(!written[0].contains("\u{1b}") && written[0].contains("\\x1B[2J"))
        #expect(written[0].contains("agent=a\\x0Ab"))
    }
}
