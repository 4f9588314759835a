import FloeCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Plays an MP3 byte stream on this machine, through the speaker's path: `SourceIngest` frames it, a private
/// `Mount` publishes the frames, and a `Speaker` with a playback output plays them by its clock. Used by
/// `floe play` (bytes from HTTP) and `floe fec-recv --play` (bytes rebuilt from FEC groups).
///
/// ``feed(_:)`` and ``finish()`` may be called from any thread; feeding is serialised on the player's loop.
public final class LocalPlayback: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let loop: EventLoop
    private let mount: Mount
    private let speaker: Speaker
    private let ingest: NIOLoopBoundBox<SourceIngest>
    private let stopped: EventLoopPromise<Void>
    private let completed = NIOLockedValueBox(false)

    private static func complete(_ promise: EventLoopPromise<Void>, once flag: NIOLockedValueBox<Bool>) {
        let first = flag.withLockedValue { done in
            defer { done = true }
            return !done
        }
        if first { promise.succeed() }
    }

    /// - Parameter output: a playback output (driver, device, format, jitter buffer).
    public init(output: SpeakerOutputConfiguration, name: String, logger: Logger) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        mount = Mount(path: name, eventLoops: [loop], queueCapacity: 1 << 20)
        speaker = Speaker(home: mount, configuration: output, eventLoop: loop, logger: logger, metrics: nil)
        speaker.start()
        ingest = NIOLoopBoundBox.makeBoxSendingValue(
            SourceIngest(format: .mpeg, blockDuration: .milliseconds(100)),
            eventLoop: loop
        )
        let stopped = loop.makePromise(of: Void.self)
        self.stopped = stopped
        let completed = self.completed
        speaker.onStop { Self.complete(stopped, once: completed) }
        _ = mount.sourceConnected(id: 1, descriptor: SourceDescriptor(contentType: "audio/mpeg", headers: [], peerAddress: "local"))
    }

    /// Seconds of audio waiting to play (for a reader that should slow down when far ahead).
    public var bufferedSeconds: Double { speaker.status.bufferedSeconds }

    /// Plays `bytes` (the next part of the stream). The future completes once the speaker holds the frames, so
    /// ``bufferedSeconds`` counts them.
    @discardableResult
    public func feed(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        let taken = loop.makePromise(of: Void.self)
        loop.execute { [self] in
            for output in ingest.value.receive(bytes, at: .now()) { mount.publish(output) }
            // The speaker runs on this loop: its `receive` was queued by `publish`, before this.
            loop.execute { taken.succeed() }
        }
        return taken.futureResult
    }

    /// The stream has ended: plays out what is buffered, closes the device and returns. Throws the device's
    /// problem, if it had one.
    public func finish() async throws {
        loop.execute { [self] in
            for output in ingest.value.finish(at: .now()) { mount.publish(output) }
            mount.sourceDisconnected(id: 1, fallback: nil)
        }
        try? await stopped.futureResult.get()
        let problem = speaker.status.problem
        try? await speaker.close().get()
        try? await group.shutdownGracefully()
        if let problem { throw StreamPlayer.PlayError(description: problem) }
    }

    /// Stops at once (an error elsewhere): closes the device without playing out.
    public func cancel() async {
        Self.complete(stopped, once: completed)
        try? await speaker.close().get()
        try? await group.shutdownGracefully()
    }
}
