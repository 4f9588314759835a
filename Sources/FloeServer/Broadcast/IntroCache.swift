import FloeCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Intro files (`intro` in a mount's configuration), read and framed on first use and shared by every listener
/// (frame-aligned, one buffer). A file that cannot be read is remembered as missing (logged once) until `reset()`
/// (a reload). `prepare` reads every configured intro on NIO's thread pool when a configuration is applied, so
/// listeners find them cached; only one arriving in the moment before that reads the file itself.
final class IntroCache: Sendable {
    private let intros = Mutex<[String: ByteBuffer?]>([:])
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The frames of the intro at `path` (relative to the web root unless absolute), or `nil`.
    func intro(_ path: String, configuration: ServerConfiguration) -> ByteBuffer? {
        if let cached = intros.withLock({ $0[path] }) { return cached }
        let file = path.hasPrefix("/") && FileManager.default.fileExists(atPath: path)
            ? path : configuration.paths.webroot + (path.hasPrefix("/") ? path : "/" + path)
        guard let data = FileManager.default.contents(atPath: file) else {
            logger.warning("Intro file cannot be read", metadata: ["file": "\(file)"])
            intros.withLock { $0[path] = .some(nil) }
            return nil
        }
        var ingest = SourceIngest(format: .mpeg)
        var frames = ByteBuffer()
        for var block in ingest.receive(ByteBuffer(bytes: data), at: .now()) + ingest.finish(at: .now()) {
            frames.writeBuffer(&block.bytes)
        }
        guard frames.readableBytes > 0 else {
            logger.warning("Intro file holds no MPEG audio", metadata: ["file": "\(file)"])
            intros.withLock { $0[path] = .some(nil) }
            return nil
        }
        intros.withLock { $0[path] = frames }
        return frames
    }

    /// Reads the intros `configuration` names, off the event loops.
    func prepare(_ configuration: ServerConfiguration) {
        let paths = Set(configuration.everyMountSettings.compactMap(\.intro))
        for path in paths {
            NIOThreadPool.singleton.submit { [self] state in
                guard case .active = state else { return }
                _ = intro(path, configuration: configuration)
            }
        }
    }

    /// Forgets every intro (a reload: files are read again).
    func reset() {
        intros.withLock { $0.removeAll() }
    }
}
