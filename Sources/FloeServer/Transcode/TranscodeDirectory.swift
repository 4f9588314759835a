import FloeCore
import NIOCore
import NIOPosix
import Synchronization

/// The transcoded mounts the configuration asks for: started with the server, kept, replaced or closed on a reload
/// (one whose settings did not change keeps running). Their encoding runs on a thread pool of their own, so that a
/// busy encoder never delays the server's file reads.
final class TranscodeDirectory: Sendable {
    private let transcoders = Mutex<[String: TranscodedMount]>([:])
    private let pool = Mutex<NIOThreadPool?>(nil)

    /// The transcoder feeding `mount`, if it is a transcoded mount.
    func transcoder(of mount: String) -> TranscodedMount? {
        transcoders.withLock { $0[mount] }
    }

    var all: [TranscodedMount] {
        transcoders.withLock { transcoders in transcoders.keys.sorted().map { transcoders[$0]! } }
    }

    /// Starts, keeps or closes transcoded mounts so that they match `configuration`.
    func apply(_ configuration: ServerConfiguration, context: ServerContext) {
        let wanted = configuration.mounts.compactMapValues(\.transcode)
        let threads = pool.withLock { pool -> NIOThreadPool? in
            if pool == nil, !wanted.isEmpty {
                let started = NIOThreadPool(numberOfThreads: max(1, System.coreCount))
                started.start()
                pool = started
            }
            return pool
        }
        let (closed, created) = transcoders.withLock { transcoders -> ([TranscodedMount], [TranscodedMount]) in
            var closed: [TranscodedMount] = []
            var created: [TranscodedMount] = []
            for (path, transcoder) in transcoders where wanted[path] != transcoder.configuration {
                closed.append(transcoder)
                transcoders[path] = nil
            }
            for (path, settings) in wanted.sorted(by: { $0.key < $1.key }) where transcoders[path] == nil {
                guard let threads else { break }
                let origin = context.mounts.mountCreatingIfNeeded(
                    settings.from,
                    queueCapacity: configuration.queueCapacity(forMount: settings.from),
                    hls: configuration.mount(settings.from).hlsSettings
                )
                let derived = context.mounts.mountCreatingIfNeeded(
                    path,
                    queueCapacity: configuration.queueCapacity(forMount: path),
                    hls: configuration.mount(path).hlsSettings
                )
                let transcoder = TranscodedMount(origin: origin, derived: derived, configuration: settings, pool: threads, context: context)
                transcoders[path] = transcoder
                created.append(transcoder)
            }
            return (closed, created)
        }
        for transcoder in closed { transcoder.close() }
        for transcoder in created {
            transcoder.start()
            context.logger.info("Transcoded mount ready", metadata: ["mount.path": "\(transcoder.derived.path)", "transcode.from": "\(transcoder.home.path)"])
        }
    }

    /// Closes every transcoded mount (the server stops).
    func closeAll() async {
        let all = transcoders.withLock { transcoders in
            defer { transcoders.removeAll() }
            return Array(transcoders.values)
        }
        for transcoder in all { transcoder.close() }
        if let threads = pool.withLock({ pool in defer { pool = nil }; return pool }) {
            try? await threads.shutdownGracefully()
        }
    }
}
