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
/// An on-demand relay connects only when a listener asks for its mount (``demand()``) and disconnects
/// ``ServerConfiguration/Relay/onDemandLinger`` seconds after the mount's last listener left.
///
/// When the stream fails or ends, the relay connects again as ``RelaySchedule`` says. Meanwhile the local mount
/// stays live for up to ``ServerConfiguration/Relay/hold`` seconds, its listeners connected and waiting, and the
/// next upstream stream continues the same feed (on a frame boundary: the framer resynchronises); a mount with a
/// live fallback sends its listeners there at once instead. Everything runs on one event loop: the client's
/// callbacks, the timers and the source's feed.
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
        /// The local source, kept across reconnections while the hold lasts.
        var feed: SourceFeed?
        var format: StreamFormat?
        var hold: Scheduled<Void>?
        var stopped = false
        /// Connecting or connected. Always, for a relay that is not on demand.
        var active = false
        /// On demand: the watch for the mount's last listener, and since when it has had none.
        var linger: RepeatedTask?
        var idleSince: NIODeadline?
    }

    /// How Floe names itself upstream, so an origin's operator can tell its edges from its listeners.
    static let userAgent = "Floe/\(FloeVersion.string) (relay)"

    init(relay: ServerConfiguration.Relay, server: ServerContext, eventLoop: EventLoop) {
        self.relay = relay
        self.server = server
        self.eventLoop = eventLoop
        self.state = NIOLoopBoundBox.makeBoxSendingValue(
            State(schedule: RelaySchedule(upstreamCount: max(relay.upstreams.count, 1))),
            eventLoop: eventLoop
        )
        var logger = server.logger
        logger[metadataKey: "mount.path"] = "\(relay.localMount)"
        self.logger = logger
    }

    /// Connects now (from any thread); an on-demand relay waits for ``demand()``.
    func start() {
        guard !relay.onDemand else { return }
        eventLoop.execute {
            self.state.value.active = true
            self.connect()
        }
    }

    /// A listener wants the mount (from any thread): an idle on-demand relay connects, and stays connected until
    /// the mount has been without listeners for the linger time.
    func demand() {
        eventLoop.execute {
            guard !self.state.value.stopped else { return }
            self.state.value.idleSince = .now()
            guard !self.state.value.active else { return }
            self.state.value.active = true
            self.logger.info("On-demand relay connecting for a listener")
            self.connect()
            self.state.value.linger = self.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                self.checkLinger()
            }
        }
    }

    /// On demand: disconnects once the mount has had no listener for the linger time.
    private func checkLinger() {
        let listeners = server.mounts.mount(relay.localMount)?.snapshot.listeners ?? 0
        guard listeners == 0 else {
            state.value.idleSince = nil
            return
        }
        let now = NIODeadline.now()
        guard let idleSince = state.value.idleSince else {
            state.value.idleSince = now
            return
        }
        guard now - idleSince >= .seconds(configured: relay.onDemandLinger) else { return }
        logger.info("On-demand relay disconnecting: no listeners")
        state.value.active = false
        disconnect()
    }

    /// Drops the connection, any pending retry and the linger watch, and ends the local source.
    private func disconnect() {
        state.value.linger?.cancel()
        state.value.linger = nil
        state.value.retry?.cancel()
        state.value.request?.cancel()
        endFeed()
    }

    /// Disconnects for good (a reload without this relay, or shutdown): the local source ends as a source's
    /// disconnect would, and no retry follows.
    func stop() {
        eventLoop.execute {
            self.state.value.stopped = true
            self.disconnect()
        }
    }

    private func connect() {
        guard !state.value.stopped, !relay.upstreams.isEmpty else { return }
        let upstream = relay.upstreams[state.value.schedule.current]
        var logger = self.logger
        guard let url = HTTPClientURL(upstream.url) else {
            logger[metadataKey: "relay.upstream"] = "\(upstream.url)"
            attemptEnded(streamed: false, reason: "not an http:// or https:// URL", logger: logger)
            return
        }
        logger[metadataKey: "relay.upstream"] = "\(url)"
        let configuration = server.configuration
        var request = HTTPClientRequest(url: url)
        request.user = upstream.username
        request.password = upstream.password
        request.wantsICYMetadata = relay.relayMetadata
        request.userAgent = Self.userAgent
        request.caFile = configuration.httpClientCAFile
        request.idleTimeout = .seconds(configured: configuration.mount(relay.localMount).sourceTimeout ?? configuration.limits.sourceTimeout)
        let stream = RelayStream(source: self, upstreamURL: url.description, eventLoop: eventLoop, logger: logger)
        state.value.request = HTTPClient.stream(request, on: eventLoop, to: stream)
    }

    /// The feed for a stream that just answered 200 with `descriptor`: the held one when its format is the same,
    /// else a new claim of the local mount (`nil`, with the reason, when a source or the `<sources>` limit
    /// stands in the way).
    fileprivate func feed(for descriptor: SourceDescriptor) -> Result<SourceFeed, SourceLogin.Refusal> {
        state.value.hold?.cancel()
        state.value.hold = nil
        if let feed = state.value.feed, !feed.ended, state.value.format == descriptor.format {
            feed.mount.sourceDescriptorChanged(id: feed.sourceID, to: descriptor)
            return .success(feed)
        }
        endFeed()
        let login = SourceLogin(
            server: server,
            configuration: server.configuration,
            path: relay.localMount,
            sourceID: server.makeConnectionID(),
            logger: logger
        )
        return login.claim(descriptor).map { mount in
            let feed = login.makeFeed(mount: mount, descriptor: descriptor, accessRecord: nil, logger: logger)
            feed.started()
            let task = NIOLoopBound(self, eventLoop: eventLoop)
            let loop = eventLoop
            // An admin's killsource (or a reload that removes the mount) ends the relayed source and its listeners
            // now; the relay connects again as after any failure.
            mount.attachSource {
                loop.execute {
                    task.value.endFeed()
                    task.value.state.value.request?.cancel()
                }
            }
            state.value.feed = feed
            state.value.format = descriptor.format
            return feed
        }
    }

    /// Ends the local source now: its listeners go to the fallback or are closed.
    private func endFeed() {
        state.value.hold?.cancel()
        state.value.hold = nil
        state.value.feed?.end()
        state.value.feed = nil
    }

    /// Keeps the local source up for the hold (listeners wait for the next stream), or ends it at once when the
    /// mount has a live fallback to send them to.
    private func holdFeed() {
        guard let feed = state.value.feed, !feed.ended, state.value.hold == nil else { return }
        let configuration = server.configuration
        if server.mounts.liveFallback(of: relay.localMount, configuration: configuration) != nil || relay.hold <= 0 {
            endFeed()
            return
        }
        state.value.hold = eventLoop.scheduleTask(in: .seconds(configured: relay.hold)) {
            self.logger.warning("No upstream within the relay's hold; ending its listeners")
            self.state.value.hold = nil
            self.endFeed()
        }
    }

    /// The attempt is over: `streamed` when the upstream's audio reached the mount. Schedules the next one.
    fileprivate func attemptEnded(streamed: Bool, reason: String, logger: Logger) {
        state.value.request = nil
        guard !state.value.stopped, state.value.active else {
            endFeed()
            return
        }
        holdFeed()
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
    /// The upstream's URL without credentials, as status shows it.
    private let upstreamURL: String
    private let eventLoop: EventLoop
    private let logger: Logger
    private var feed: SourceFeed?
    private var deinterleaver: ICYDeinterleaver?
    private var failure: String?
    private var streamed = false
    private var finished = false

    init(source: RelaySource, upstreamURL: String, eventLoop: EventLoop, logger: Logger) {
        self.source = source
        self.upstreamURL = upstreamURL
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func didReceiveHead(_ head: HTTPResponseHead) {
        guard head.status.code == 200 else {
            refuse("the upstream answered \(head.status.code) \(head.status.reasonPhrase)")
            return
        }
        let relay = source.relay
        var descriptor = SourceDescriptor(
            contentType: head.headers.first(name: "content-type"),
            headers: head.headers.map { (name: $0.name, value: $0.value) },
            peerAddress: upstreamURL,
            connectedAt: Date()
        )
        descriptor.relayUpstream = upstreamURL
        switch source.feed(for: descriptor) {
        case .failure(.tooManySources):
            refuse("all <sources> are taken")
            return
        case .failure(.mountInUse):
            refuse("a source feeds \(relay.localMount)")
            return
        case .success(let feed):
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
        if let feed, !feed.ended {
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
        source.attemptEnded(streamed: streamed, reason: reason, logger: logger)
    }
}
