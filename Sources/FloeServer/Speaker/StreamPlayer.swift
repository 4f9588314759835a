import FloeCore
import Logging
import NIOCore
import NIOPosix

/// `floe play`: plays a stream from an Icecast or Floe server on this machine's sound device (or into a WAV file),
/// through the same speaker path a mount's playback output uses: framing, jitter buffer, the speaker's clock,
/// libmpg123, libout123.
///
/// The stream is fetched with a plain HTTP/1.0 GET (no ICY metadata asked for), framed as it arrives, and
/// published into a private mount that the speaker plays; when the server ends the stream, what is buffered plays
/// out and ``play()`` returns.
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
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await play(on: group.next())
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    private func play(on loop: EventLoop) async throws {
        let mount = Mount(path: path, eventLoops: [loop], queueCapacity: 1 << 20)
        let speaker = Speaker(home: mount, configuration: output, eventLoop: loop, logger: logger, metrics: nil)
        mount.attach(speaker)
        let finished = loop.makePromise(of: Void.self)
        speaker.onStop { finished.succeed() }
        let request = "GET \(path) HTTP/1.0\r\nHost: \(host):\(port)\r\nUser-Agent: floe-play\r\nAccept: */*\r\n\r\n"
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamPlayerHandler(mount: mount, failed: finished))
                }
            }
            .connect(host: host, port: port)
            .get()
        try await channel.writeAndFlush(ByteBuffer(string: request))
        logger.info("Playing", metadata: ["url": "http://\(host):\(port)\(path)"])
        do {
            try await finished.futureResult.get()
        } catch {
            try? await speaker.close().get()
            throw error
        }
        channel.close(promise: nil)
        let problem = speaker.status.problem
        try? await speaker.close().get()
        if let problem { throw PlayError(description: problem) }
    }
}

/// Reads the response head, then frames the body into the player's mount; ends the mount's source at EOF.
private final class StreamPlayerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let mount: Mount
    private let failed: EventLoopPromise<Void>
    private var head: [UInt8] = []
    private var streaming = false
    private var ingest = SourceIngest(format: .mpeg, blockDuration: .milliseconds(100))
    private var sawAudio = false

    init(mount: Mount, failed: EventLoopPromise<Void>) {
        self.mount = mount
        self.failed = failed
    }

    func channelActive(context: ChannelHandlerContext) {
        let descriptor = SourceDescriptor(contentType: "audio/mpeg", headers: [], peerAddress: "remote")
        _ = mount.sourceConnected(id: 1, descriptor: descriptor)
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
        for output in ingest.receive(buffer, at: .now()) {
            sawAudio = sawAudio || !output.frames.isEmpty
            mount.publish(output)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for output in ingest.finish(at: .now()) { mount.publish(output) }
        mount.sourceDisconnected(id: 1, fallback: nil)
        if !sawAudio {
            failed.fail(StreamPlayer.PlayError(description: streaming ? "the stream held no MPEG audio" : "the server closed the connection"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context, "connection failed: \(error)")
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        failed.fail(StreamPlayer.PlayError(description: message))
        context.close(promise: nil)
    }
}
