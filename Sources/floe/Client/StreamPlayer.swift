import FloeCore
import FloeHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// `floe play`: plays a stream from an Icecast or Floe server on this machine's sound device (or into a WAV file),
/// through the same speaker path a mount's playback output uses: framing, jitter buffer, the speaker's clock,
/// libmpg123, libout123.
///
/// The stream is fetched with Floe's HTTP client (HTTP/1.0 GET, no ICY metadata asked for; credentials in the
/// URL are sent, redirects followed) and fed to a `LocalPlayback`; when the server ends the stream, what is
/// buffered plays out and ``play()`` returns.
struct StreamPlayer: Sendable {
    var url: HTTPClientURL
    var output: SpeakerOutputConfiguration
    var logger: Logger
    /// For `https`: CA certificates trusted besides the system's.
    var caFile: String?

    /// Plays `url` (`http[s]://[user:pass@]host[:port]/mount`) with `output` (a playback output).
    init(url: String, output: SpeakerOutputConfiguration, logger: Logger, caFile: String? = nil) throws {
        guard let parsed = HTTPClientURL(url) else {
            throw PlayError(description: "not an http:// or https:// URL with a host (and a valid port): \(url)")
        }
        self.url = parsed
        self.output = output
        self.logger = logger
        self.caFile = caFile
    }

    struct PlayError: Error, CustomStringConvertible {
        var description: String
    }

    /// Connects, plays until the stream ends and everything has played, then returns.
    func play() async throws {
        let playback = LocalPlayback(output: output, name: url.path, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let ended = loop.makePromise(of: Void.self)
        var request = HTTPClientRequest(url: url)
        request.userAgent = "floe-play"
        request.caFile = caFile
        request.headers.add(name: "Accept", value: "*/*")
        let sent = request
        loop.execute {
            HTTPClient.stream(sent, on: loop, to: PlayerDelegate(playback: playback, ended: ended, eventLoop: loop))
        }
        logger.info("Playing", metadata: ["url": "\(url)"])
        do {
            try await ended.futureResult.get()
        } catch {
            await playback.cancel()
            try? await group.shutdownGracefully()
            throw error
        }
        // The client's loop stays up until the player is done: the last feeds still report back to it.
        do {
            try await playback.finish()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }
}

/// Feeds the body to the player, taking the next bytes only while it holds less than `readAhead` seconds of
/// audio: a server that sends faster than real time (a file, a big burst) is slowed by TCP, not dropped.
private final class PlayerDelegate: HTTPClientResponseDelegate {
    static let readAhead = 4.0

    private let playback: LocalPlayback
    private let ended: EventLoopPromise<Void>
    private let eventLoop: EventLoop
    private var receivedBody = false
    private var failure: String?

    init(playback: LocalPlayback, ended: EventLoopPromise<Void>, eventLoop: EventLoop) {
        self.playback = playback
        self.ended = ended
        self.eventLoop = eventLoop
    }

    func didReceiveHead(_ head: HTTPResponseHead) {
        if head.status.code != 200 {
            failure = "the server answered \(head.status.code) \(head.status.reasonPhrase)"
        }
    }

    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        guard failure == nil else { return eventLoop.makeSucceededVoidFuture() }
        receivedBody = receivedBody || bytes.readableBytes > 0
        let room = eventLoop.makePromise(of: Void.self)
        let playback = self.playback
        let eventLoop = self.eventLoop
        playback.feed(bytes).hop(to: eventLoop).whenComplete { _ in
            Self.waitForRoom(playback, on: eventLoop, then: room)
        }
        return room.futureResult
    }

    private static func waitForRoom(_ playback: LocalPlayback, on eventLoop: EventLoop, then room: EventLoopPromise<Void>) {
        if playback.bufferedSeconds < readAhead {
            room.succeed()
        } else {
            eventLoop.scheduleTask(in: .milliseconds(200)) { waitForRoom(playback, on: eventLoop, then: room) }
        }
    }

    func didFinish() {
        if let failure {
            ended.fail(StreamPlayer.PlayError(description: failure))
        } else if receivedBody {
            ended.succeed()
        } else {
            ended.fail(StreamPlayer.PlayError(description: "the stream was empty"))
        }
    }

    func didFail(_ error: HTTPClientError) {
        // A stream that was playing and then cut is still a stream that ended: what arrived plays out.
        if receivedBody, failure == nil {
            ended.succeed()
        } else {
            ended.fail(StreamPlayer.PlayError(description: failure ?? error.description))
        }
    }
}
