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
                // Reads are asked for only while little audio is waiting (see the handler), in small pieces: a
                // server that sends faster than real time (a file, a big burst) is slowed by TCP, not dropped.
                .channelOption(.autoRead, value: false)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 8192))
                // A server that has sent everything and closed is read to the end before the stream ends.
                .channelOption(.allowRemoteHalfClosure, value: true)
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

/// Reads the response head, then hands the body to the player; the stream's end (or a failure) completes `ended`.
/// Reads while the player holds less than `readAhead` seconds of audio, then waits for it to play down.
private final class StreamPlayerHandler: ChannelInboundHandler {
    static let readAhead = 4.0

    typealias InboundIn = ByteBuffer

    private let playback: LocalPlayback
    private let ended: EventLoopPromise<Void>
    private var head: [UInt8] = []
    private var streaming = false
    private var receivedBody = false
    private var completed = false
    /// The player has taken the bytes read so far when this completes.
    private var lastFeed: EventLoopFuture<Void>?

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
        lastFeed = playback.feed(buffer)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard let lastFeed else { return readWhenRoom(context: context) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        lastFeed.hop(to: context.eventLoop).whenComplete { _ in bound.value.0.readWhenRoom(context: bound.value.1) }
    }

    private func readWhenRoom(context: ChannelHandlerContext) {
        guard !completed, context.channel.isActive else { return }
        if playback.bufferedSeconds < Self.readAhead {
            context.read()
        } else {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(200)) {
                bound.value.0.readWhenRoom(context: bound.value.1)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            context.close(promise: nil)  // everything the server sent has been read
        }
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
