import FloeCore
import FloeSpeaker
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Plays an MP3 byte stream on this machine, through the speaker's path: `SourceIngest` frames it and a
/// `SpeakerEngine` with a playback output plays the frames by its clock, as a mount's playback output does.
/// Used by `floe play` (bytes from HTTP) and `floe fec-recv --play` (bytes rebuilt from FEC groups).
///
/// ``feed(_:)`` and ``finish()`` may be called from any thread; feeding is serialised on the player's loop.
public final class LocalPlayback: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let loop: EventLoop
    private let speaker: SpeakerEngine
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
        speaker = SpeakerEngine(mount: name, configuration: output, eventLoop: loop, logger: logger, counters: nil)
        ingest = NIOLoopBoundBox.makeBoxSendingValue(
            SourceIngest(format: .mpeg, blockDuration: .milliseconds(100)),
            eventLoop: loop
        )
        let stopped = loop.makePromise(of: Void.self)
        self.stopped = stopped
        let completed = self.completed
        speaker.onStop { Self.complete(stopped, once: completed) }
    }

    /// Seconds of audio waiting to play (for a reader that should slow down when far ahead).
    public var bufferedSeconds: Double { speaker.status.bufferedSeconds }

    /// Plays `bytes` (the next part of the stream). The future completes once the speaker holds the frames, so
    /// ``bufferedSeconds`` counts them.
    @discardableResult
    public func feed(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        let taken = loop.makePromise(of: Void.self)
        loop.execute { [self] in
            for output in ingest.value.receive(bytes, at: .now()) { speaker.receive(output.bytes, frames: output.frames) }
            // The speaker runs on this loop: its `receive` work was queued before this.
            loop.execute { taken.succeed() }
        }
        return taken.futureResult
    }

    /// The stream has ended: plays out what is buffered, closes the device and returns. Throws the device's
    /// problem, if it had one.
    public func finish() async throws {
        loop.execute { [self] in
            for output in ingest.value.finish(at: .now()) { speaker.receive(output.bytes, frames: output.frames) }
            speaker.endOfSource()
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
