import FloeCore
import Logging
import NIOCore
import Synchronization

/// The speaker outputs the configuration asks for, by mount: started with the server, kept, replaced or closed
/// on a reload (an output whose settings did not change keeps running, its RTP session and clock untouched).
final class SpeakerDirectory: Sendable {
    private let speakers = Mutex<[String: [Speaker]]>([:])
    /// Outputs a reload closed that may still be finishing (a device playing out): the server waits for them too.
    private let closing = Mutex<[EventLoopFuture<Void>]>([])
    private let nextLoop = Atomic<Int>(0)

    /// Every running output, by mount then in configuration order.
    var all: [Speaker] {
        speakers.withLock { speakers in speakers.keys.sorted().flatMap { speakers[$0]! } }
    }

    /// The outputs of `mount`.
    func speakers(of mount: String) -> [Speaker] {
        speakers.withLock { $0[mount] ?? [] }
    }

    /// Starts, keeps or closes outputs so that they match `configuration`.
    func apply(_ configuration: ServerConfiguration, context: ServerContext, eventLoops: [EventLoop]) {
        let (closed, created) = speakers.withLock { speakers -> ([Speaker], [Speaker]) in
            var closed: [Speaker] = []
            var created: [Speaker] = []
            var next: [String: [Speaker]] = [:]
            let paths = Set(speakers.keys).union(configuration.mounts.keys)
            for path in paths.sorted() {
                let wanted = configuration.mounts[path]?.outputs ?? []
                var running = speakers[path] ?? []
                var kept: [Speaker] = []
                for output in wanted {
                    if let index = running.firstIndex(where: { $0.configuration == output }) {
                        kept.append(running.remove(at: index))
                        continue
                    }
                    let mount = context.mounts.mountCreatingIfNeeded(
                        path,
                        queueCapacity: configuration.queueCapacity(forMount: path),
                        hls: configuration.mount(path).hlsSettings
                    )
                    let loop = eventLoops[nextLoop.wrappingAdd(1, ordering: .relaxed).oldValue % eventLoops.count]
                    let speaker = Speaker(
                        home: mount,
                        configuration: output,
                        eventLoop: loop,
                        logger: context.logger,
                        metrics: context.metrics,
                        streamName: configuration.mount(path).streamName,
                        hostname: configuration.hostname
                    )
                    kept.append(speaker)
                    created.append(speaker)
                }
                closed += running
                if !kept.isEmpty { next[path] = kept }
            }
            speakers = next
            return (closed, created)
        }
        closing.withLock { closing in
            closing.append(contentsOf: closed.map { $0.close() })
        }
        for speaker in created {
            speaker.start()
            // Like a listener arriving at a mount without a source: play its live fallback meanwhile.
            if !speaker.home.isLive, let fallback = context.mounts.liveFallback(of: speaker.homePath, configuration: configuration),
                speaker.move(from: speaker.home, to: fallback, withLastBlock: true)
            {
                speaker.settle(after: fallback)
            }
            context.logger.info(
                "Speaker output ready",
                metadata: ["mount.path": "\(speaker.homePath)", "output": "\(speaker.configuration.name)"]
            )
        }
    }

    /// Closes every output (the server stops); the futures complete when each has closed.
    func closeAll() -> [EventLoopFuture<Void>] {
        let all = speakers.withLock { speakers in
            defer { speakers.removeAll() }
            return speakers.values.flatMap { $0 }
        }
        return all.map { $0.close() } + closing.withLock { $0 }
    }
}
