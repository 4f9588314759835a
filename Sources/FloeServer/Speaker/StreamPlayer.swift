import FloeCore
import Logging
import NIOCore
import NIOPosix

/// `floe play`: plays a stream from an Icecast or Floe server on this machine's sound device (or into a WAV file),
/// through the same speaker path a mount's playback output uses: framing, jitter buffer, the speaker's clock,
/// libmpg123, libout123.
///
/// The stream is fetched with a plain HTTP/1.0 GET (no ICY metadata asked for) and fed to a `LocalPlayback`; when
/// the server ends the stream, what is buffered plays out and ``play()`` returns.
public struct StreamPlayer: Sendable {
    public var host: String
    public var port: Int
    public var path: String
    public var output: SpeakerOutputConfiguration
    public var logger: Logger

    /// Plays `url` (`http://host[:port]/mount`) with `output` (a playback output).
    public init(url: String, output: SpeakerOutputConfiguration, logger: Logger) throws {
        guard url.hasPrefix("http://") else {
            throw PlayError(description: "only http:// URLs can be played, got \(url)")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest.dropFirst(authority.count))
        let hostAndPort = authority.split(separator: ":", maxSplits: 1)
        guard let host = hostAndPort.first, !host.isEmpty else {
            throw PlayError(description: "no host in \(url)")
        }
        let port = hostAndPort.count == 2 ? Int(hostAndPort[1]) : 80
        guard let port, (1...65535).contains(port) else {
            throw PlayError(description: "bad port in \(url)")
        }
        self.host = String(host)
        self.port = port
        self.path = path.isEmpty ? "/" : path
        self.output = output
        self.logger = logger
    }

    public struct PlayError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Connects, plays until the stream ends and everything has played, then returns.
    public func play() async throws {
        let playback = LocalPlayback(output: output, name: path, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let ended = group.next().makePromise(of: Void.self)
        let request = "GET \(path) HTTP/1.0\r\nHost: \(host):\(port)\r\nUser-Agent: floe-play\r\nAccept: */*\r\n\r\n"
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StreamPlayerHandler(playback: playback, ended: ended))
                    }
                }
                .connect(host: host, port: port)
                .get()
            try await channel.writeAndFlush(ByteBuffer(string: request))
            logger.info("Playing", metadata: ["url": "http://\(host):\(port)\(path)"])
            try await ended.futureResult.get()
        } catch {
            ended.fail(error)  // a promise must be completed, even when nothing will wait for it any more
            await playback.cancel()
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        try await playback.finish()
    }
}

/// Reads the response head, then hands the body to the player; the stream's end (or a failure) completes `ended`.
private final class StreamPlayerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let playback: LocalPlayback
    private let ended: EventLoopPromise<Void>
    private var head: [UInt8] = []
    private var streaming = false
    private var receivedBody = false
    private var completed = false

    init(playback: LocalPlayback, ended: EventLoopPromise<Void>) {
        self.playback = playback
        self.ended = ended
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if !streaming {
            head += buffer.readBytes(length: buffer.readableBytes) ?? []
            guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else {
                if head.count > 16_384 { fail(context, "the server's response head is too long") }
                return
            }
            let statusLine = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, parts[1] == "200" else {
                fail(context, "the server answered \(statusLine)")
                return
            }
            streaming = true
            buffer = ByteBuffer(bytes: head[end.upperBound...])
            head = []
        }
        receivedBody = receivedBody || buffer.readableBytes > 0
        playback.feed(buffer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !completed else { return }
        completed = true
        if receivedBody {
            ended.succeed()
        } else {
            ended.fail(StreamPlayer.PlayError(description: streaming ? "the stream was empty" : "the server closed the connection"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context, "connection failed: \(error)")
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        if !completed {
            completed = true
            ended.fail(StreamPlayer.PlayError(description: message))
        }
        context.close(promise: nil)
    }
}
