import FloeCore
import Foundation
import Logging
import NIOCore
import NIOPosix

/// What a mount's configuration asks to happen around a source: `dump-file` records every byte the source sends,
/// `on-connect` and `on-disconnect` run a program with the mount path as its only argument (without waiting for
/// it, as Icecast does).
///
/// Owned by the source's ingest handler and used only on its event loop. Dump writes go to the page cache with
/// plain `write(2)`; at a source's rate (a few KB per read) they take microseconds. Starting a program
/// (`fork`/`exec`, the executable read from disk) can take milliseconds, so scripts are started on a thread of
/// NIO's shared pool, never on the loop.
final class SourceHooks {
    private let mountPath: String
    private let configuration: MountConfiguration
    private let logger: Logger
    private var dump: FileHandle?

    init(mountPath: String, configuration: MountConfiguration, logger: Logger) {
        self.mountPath = mountPath
        self.configuration = configuration
        self.logger = logger
    }

    /// The source has logged in: open the dump file and run `on-connect`.
    func connected(at date: Date = Date()) {
        if let pattern = configuration.dumpFile {
            let path = Self.expand(pattern, at: date)
            if FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) {
                dump = handle
                logger.info("Recording source", metadata: ["dump.file": "\(path)"])
            } else {
                logger.error("Cannot open dump file", metadata: ["dump.file": "\(path)"])
            }
        }
        if let script = configuration.onConnect {
            run(script)
        }
    }

    /// Bytes from the source, exactly as received.
    func received(_ bytes: ByteBuffer) {
        guard let dump else { return }
        do {
            try bytes.withUnsafeReadableBytes { try dump.write(contentsOf: Data($0)) }
        } catch {
            logger.error("Dump file write failed; recording stopped", metadata: ["error": "\(error)"])
            try? dump.close()
            self.dump = nil
        }
    }

    /// The source has gone: close the dump file and run `on-disconnect`.
    func disconnected() {
        try? dump?.close()
        dump = nil
        if let script = configuration.onDisconnect {
            run(script)
        }
    }

    private func run(_ program: String) {
        let mountPath = self.mountPath
        let logger = self.logger
        NIOThreadPool.singleton.submit { state in
            guard case .active = state else { return }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = [mountPath]
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                logger.error("Cannot run script", metadata: ["script": "\(program)", "error": "\(error)"])
            }
        }
    }

    /// Expands `strftime` conversions (`%Y%m%d-%H%M%S`) in local time, so each connection gets its own file.
    static func expand(_ pattern: String, at date: Date) -> String {
        guard pattern.contains("%") else { return pattern }
        return TimeFormat.local(date, pattern) ?? pattern
    }
}
