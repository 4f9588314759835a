import FloeCore
import FloeHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Pulls one relayed mount from its upstream and feeds it to the local mount as a source would: the same
/// framing, clock, bursts, fallbacks, speakers, status and admin. The upstream sees an ordinary listener (an
/// HTTP/1.0 `GET` with `Icy-MetaData: 1` when titles are relayed); its ICY blocks are taken out of the audio and
/// its titles become the local mount's.
///
/// When the stream fails or ends, the relay connects again as ``RelaySchedule`` says. Everything runs on one
/// event loop: the client's callbacks, the retry timer and the source's feed.
final class RelaySource: Sendable {
    let relay: ServerConfiguration.Relay
    private let server: ServerContext
    private let eventLoop: EventLoop
    private let state: NIOLoopBoundBox<State>
    private let logger: Logger

    private struct State {
        var schedule: RelaySchedule
        var request: HTTPClientTask?
        var retry: Scheduled<Void>?
        var stopped = false
    }

    /// How Floe names itself upstream, so an origin's operator can tell its edges from its listeners.
    static let userAgent = "Floe/\(FloeVersion.string) (relay)"

    init(relay: ServerConfiguration.Relay, server: ServerContext, eventLoop: EventLoop) {
        self.relay = relay
        self.server = server
        self.eventLoop = eventLoop
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(schedule: RelaySchedule(upstreamCount: 1)), eventLoop: eventLoop)
        var logger = server.logger
        logger[metadataKey: "mount.path"] = "\(relay.localMount)"
        logger[metadataKey: "relay.upstream"] = "\(relay.upstreamURL)"
        self.logger = logger
    }

    /// Connects now (from any thread).
    func start() {
        eventLoop.execute { self.connect() }
    }

    /// Disconnects for good (a reload without this relay, or shutdown): the local source ends as a source's
    /// disconnect would, and no retry follows.
    func stop() {
        eventLoop.execute {
            self.state.value.stopped = true
            self.state.value.retry?.cancel()
            self.state.value.request?.cancel()
        }
    }

    private func connect() {
        guard !state.value.stopped else { return }
        guard let url = HTTPClientURL(relay.upstreamURL) else {
            logger.error("Relay upstream is not a valid URL; not relaying")
            return
        }
        let configuration = server.configuration
        var request = HTTPClientRequest(url: url)
        request.user = relay.username
        request.password = relay.password
        request.wantsICYMetadata = relay.relayMetadata
        request.userAgent = Self.userAgent
        request.caFile = configuration.httpClientCAFile
        request.idleTimeout = .seconds(configured: configuration.mount(relay.localMount).sourceTimeout ?? configuration.limits.sourceTimeout)
        let stream = RelayStream(source: self, server: server, eventLoop: eventLoop, logger: logger)
        state.value.request = HTTPClient.stream(request, on: eventLoop, to: stream)
    }

    /// The attempt is over: `streamed` when the upstream's audio reached the mount. Schedules the next one.
    fileprivate func attemptEnded(streamed: Bool, reason: String) {
        state.value.request = nil
        guard !state.value.stopped else { return }
        if streamed { state.value.schedule.streamed() }
        let (_, delay) = state.value.schedule.failed(jitter: Double.random(in: 0..<1))
        let wait = TimeAmount(delay)
        logger.warning(
            streamed ? "Relay stream ended; reconnecting" : "Relay upstream failed; retrying",
            metadata: ["reason": "\(reason)", "retry_in_seconds": "\(String(format: "%.1f", Double(wait.nanoseconds) / 1e9))"]
        )
        state.value.retry = eventLoop.scheduleTask(in: wait) { self.connect() }
    }

    /// Drops the current connection (its head refused the relay); the attempt then ends as a failure.
    fileprivate func abandonAttempt() {
        state.value.request?.cancel()
    }
}

/// One connection to the upstream: its response head claims the mount, its body feeds it. Confined to the
/// relay's event loop (the client calls it there).
private final class RelayStream: HTTPClientResponseDelegate {
    private let source: RelaySource
    private let server: ServerContext
    private let eventLoop: EventLoop
    private let logger: Logger
    private var feed: SourceFeed?
    private var deinterleaver: ICYDeinterleaver?
    private var failure: String?
    private var streamed = false
    private var finished = false

    init(source: RelaySource, server: ServerContext, eventLoop: EventLoop, logger: Logger) {
        self.source = source
        self.server = server
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func didReceiveHead(_ head: HTTPResponseHead) {
        guard head.status.code == 200 else {
            refuse("the upstream answered \(head.status.code) \(head.status.reasonPhrase)")
            return
        }
        let relay = source.relay
        let descriptor = SourceDescriptor(
            contentType: head.headers.first(name: "content-type"),
            headers: head.headers.map { (name: $0.name, value: $0.value) },
            peerAddress: relay.upstreamURL,
            connectedAt: Date()
        )
        let configuration = server.configuration
        let login = SourceLogin(
            server: server,
            configuration: configuration,
            path: relay.localMount,
            sourceID: server.makeConnectionID(),
            logger: logger
        )
        switch login.claim(descriptor) {
        case .failure(.tooManySources):
            refuse("all <sources> are taken")
            return
        case .failure(.mountInUse):
            refuse("a source feeds \(relay.localMount)")
            return
        case .success(let mount):
            let feed = login.makeFeed(mount: mount, descriptor: descriptor, accessRecord: nil, logger: logger)
            feed.started()
            self.feed = feed
            if relay.relayMetadata, let interval = head.headers.first(name: "icy-metaint").flatMap(Int.init), interval > 0 {
                deinterleaver = ICYDeinterleaver(interval: interval)
            }
            logger.info("Relay connected", metadata: ["source.content_type": "\(descriptor.contentType)"])
        }
    }

    /// Nothing of this response will be used: say why, and close the connection.
    private func refuse(_ reason: String) {
        failure = reason
        source.abandonAttempt()
    }

    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        if let feed {
            if deinterleaver == nil {
                feed.receive(bytes)
            } else {
                for part in deinterleaver!.receive(bytes) {
                    switch part {
                    case .audio(let audio): feed.receive(audio)
                    case .title(let title): updateTitle(title, on: feed.mount)
                    }
                }
            }
            streamed = streamed || bytes.readableBytes > 0
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    private func updateTitle(_ title: String, on mount: Mount) {
        guard mount.snapshot.metadata.title != title else { return }
        switch mount.metadataUpdated(MetadataUpdate(title: title)) {
        case .updated: logger.info("Metadata on mountpoint \(mount.path) changed to \"\(title)\" (relayed)")
        case .rejectTooLong: logger.warning("Relayed metadata too long")
        case .rejectNoSource: break
        }
    }

    func didFinish() {
        end(reason: failure ?? "the upstream closed the stream")
    }

    func didFail(_ error: HTTPClientError) {
        end(reason: failure ?? error.description)
    }

    private func end(reason: String) {
        guard !finished else { return }
        finished = true
        feed?.end()
        source.attemptEnded(streamed: streamed, reason: reason)
    }
}
