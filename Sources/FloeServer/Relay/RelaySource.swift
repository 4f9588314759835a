import FloeCore
import FloeHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

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
/// live fallback sends its listeners there at once instead.
///
/// While a lower-priority upstream plays, the higher ones are probed (``probeDelay``, doubling to 30 s); the
/// first that answers with the same format takes over at once, the old connection dropped and the feed going on
/// from its last whole frame. With `yield-to-source`, a source logging in takes the mount over (``yield(sourceID:)``)
/// and the relay waits, disconnected, until that source leaves and hands the mount back (``resume(sourceID:descriptor:)``).
///
/// Everything runs on one event loop: the client's callbacks, the timers and the source's feed.
final class RelaySource: Sendable {
    let relay: ServerConfiguration.Relay
    /// Other local mounts relaying the same upstream stream: fed from this relay's one connection (see
    /// `RelayDirectory`, which changes them with `setMirrors` when a reload adds or removes such a relay).
    var mirrorPaths: [String] { mirrorList.withLock { $0 } }
    private let mirrorList: Mutex<[String]>
    private let server: ServerContext
    private let eventLoop: EventLoop
    private let state: NIOLoopBoundBox<State>
    private let logger: Logger

    private struct State {
        var schedule: RelaySchedule
        var request: HTTPClientTask?
        /// The connection whose audio feeds the mount (or will, once it answers).
        var mainStream: ObjectIdentifier?
        /// A connection to a higher-priority upstream, testing whether it is back; its upstream's index.
        var probe: (task: HTTPClientTask, stream: ObjectIdentifier, upstream: Int)?
        var probeTimer: Scheduled<Void>?
        var probeDelay = RelaySource.firstProbeDelay
        /// While the relay waits for a live source to leave: the watch that checks the mount is still live.
        var awaitWatch: RepeatedTask?
        var retry: Scheduled<Void>?
        /// The local source, kept across reconnections while the hold lasts.
        var feed: SourceFeed?
        var hold: Scheduled<Void>?
        var stopped = false
        /// Connecting or connected. Always, for a relay that is not on demand.
        var active = false
        /// On demand: the watch for the mount's last listener, and since when it has had none.
        var linger: RepeatedTask?
        var idleSince: NIODeadline?
    }

    /// The source id of the relay's feed while it feeds the mount (0: none), readable from any thread: a source
    /// logging in checks it before taking the mount over.
    private let feedingSourceID = Atomic<Int>(0)
    /// The relay yielded its mount to a live source and waits for it to leave.
    private let awaiting = Atomic<Bool>(false)

    /// How Floe names itself upstream, so an origin's operator can tell its edges from its listeners.
    static let userAgent = "Floe/\(FloeVersion.string) (relay)"
    /// The first wait before a higher-priority upstream is probed; it doubles after each failed probe round.
    static let firstProbeDelay = TimeAmount.seconds(5)
    static let longestProbeDelay = TimeAmount.seconds(30)

    /// Whether the relay's feed is source `id` of its mount.
    func feeds(sourceID id: Int) -> Bool {
        id != 0 && feedingSourceID.load(ordering: .acquiring) == id
    }

    /// Whether the relay yielded its mount to a live source and waits to take it back.
    var awaitsMount: Bool { awaiting.load(ordering: .acquiring) }

    init(relay: ServerConfiguration.Relay, mirrorPaths: [String] = [], server: ServerContext, eventLoop: EventLoop) {
        self.relay = relay
        self.mirrorList = Mutex(mirrorPaths)
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
            guard !self.state.value.active, !self.awaitsMount else { return }
            self.state.value.active = true
            self.logger.info("On-demand relay connecting for a listener")
            self.connect()
            self.watchLinger()
        }
    }

    /// On demand: from now on, checks every second whether the mount has been without listeners long enough.
    private func watchLinger() {
        guard relay.onDemand, state.value.linger == nil else { return }
        state.value.linger = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            self.checkLinger()
        }
    }

    /// On demand: disconnects once the mount has had no listener for the linger time.
    private func checkLinger() {
        let listeners = ([relay.localMount] + mirrorPaths).reduce(0) { sum, path in
            sum + (server.mounts.mount(path)?.snapshot.listeners ?? 0)
        }
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
        dropConnections()
        endFeed()
    }

    /// Cancels the main connection, any probe and any pending retry; their ends are then ignored.
    private func dropConnections() {
        state.value.retry?.cancel()
        state.value.retry = nil
        state.value.mainStream = nil
        state.value.request?.cancel()
        state.value.request = nil
        stopProbing()
    }

    /// Disconnects for good (a reload without this relay, or shutdown): the local source ends as a source's
    /// disconnect would, and no retry follows.
    func stop() {
        eventLoop.execute {
            self.state.value.stopped = true
            self.stopAwaiting()
            self.disconnect()
        }
    }

    private func connect() {
        guard !state.value.stopped, !relay.upstreams.isEmpty else { return }
        let index = state.value.schedule.current
        var logger = self.logger
        guard let (request, name) = request(for: index) else {
            logger[metadataKey: "relay.upstream"] = "\(relay.upstreams[index].url)"
            attemptEnded(streamed: false, reason: "not an http:// or https:// URL", logger: logger)
            return
        }
        logger[metadataKey: "relay.upstream"] = "\(name)"
        let stream = RelayStream(source: self, upstreamURL: name, eventLoop: eventLoop, logger: logger)
        state.value.mainStream = ObjectIdentifier(stream)
        state.value.request = HTTPClient.stream(request, on: eventLoop, to: stream)
    }

    /// The request for upstream `index`, and how logs and status name it; `nil` for a URL that is not http(s).
    private func request(for index: Int) -> (HTTPClientRequest, String)? {
        let upstream = relay.upstreams[index]
        guard let url = HTTPClientURL(upstream.url) else { return nil }
        let configuration = server.configuration
        var request = HTTPClientRequest(url: url)
        request.user = upstream.username
        request.password = upstream.password
        request.wantsICYMetadata = relay.relayMetadata
        request.userAgent = Self.userAgent
        request.caFile = configuration.httpClientCAFile
        // An upstream that goes quiet, before its head or in the stream, is given up like a silent source.
        let sourceTimeout = TimeAmount.seconds(configured: configuration.mount(relay.localMount).sourceTimeout ?? configuration.limits.sourceTimeout)
        request.timeout = sourceTimeout
        request.idleTimeout = sourceTimeout
        return (request, url.description)
    }

    // MARK: Returning to a higher-priority upstream

    /// While a lower-priority upstream plays, schedules the next probe of the higher ones.
    private func scheduleProbe() {
        guard state.value.schedule.current > 0, state.value.probe == nil, state.value.probeTimer == nil,
            !state.value.stopped
        else { return }
        state.value.probeTimer = eventLoop.scheduleTask(in: state.value.probeDelay) {
            self.state.value.probeTimer = nil
            self.probe(upstream: 0)
        }
    }

    /// Connects to upstream `index` (higher priority than the one playing) to see whether it is back.
    private func probe(upstream index: Int) {
        guard index < state.value.schedule.current, state.value.feed != nil, !state.value.stopped else { return }
        guard let (request, name) = request(for: index) else {
            probeFailed(upstream: index)
            return
        }
        var logger = self.logger
        logger[metadataKey: "relay.upstream"] = "\(name)"
        let stream = RelayStream(source: self, upstreamURL: name, eventLoop: eventLoop, logger: logger)
        let id = ObjectIdentifier(stream)
        let task = HTTPClient.stream(request, on: eventLoop, to: stream)
        state.value.probe = (task, id, index)
    }

    /// The probe of upstream `index` failed: the next higher-priority one is tried, or, after the last, the next
    /// round waits twice as long as this one did.
    private func probeFailed(upstream index: Int) {
        state.value.probe = nil
        if index + 1 < state.value.schedule.current {
            probe(upstream: index + 1)
            return
        }
        state.value.probeDelay = min(state.value.probeDelay * 2, Self.longestProbeDelay)
        scheduleProbe()
    }

    private func stopProbing() {
        state.value.probeTimer?.cancel()
        state.value.probeTimer = nil
        state.value.probe?.task.cancel()
        state.value.probe = nil
    }

    // MARK: Yielding to a live source

    /// A live source took the mount over from this relay's source `sourceID` (from any thread): the relay's feed
    /// ends without touching the listeners, and the relay disconnects until that source leaves.
    func yield(sourceID: Int) {
        awaiting.store(true, ordering: .releasing)
        _ = feedingSourceID.compareExchange(expected: sourceID, desired: 0, ordering: .acquiringAndReleasing)
        eventLoop.execute {
            self.startAwaiting()
            self.dropConnections()
            self.state.value.hold?.cancel()
            self.state.value.hold = nil
            if let feed = self.state.value.feed, feed.sourceID == sourceID {
                feed.handOver(to: "a live source")
            }
            self.state.value.feed = nil
            self.logger.info("Relay yields the mount to a live source")
        }
    }

    /// The live source that took the mount over left and handed it back as source `sourceID` (from any thread):
    /// the relay feeds the mount again under that id, holding its listeners while it reconnects.
    func resume(sourceID: Int, descriptor: SourceDescriptor) {
        eventLoop.execute {
            self.stopAwaiting()
            guard let mount = self.server.mounts.mount(self.relay.localMount) else {
                self.server.sources.release()
                return
            }
            self.adopt(mount: mount, sourceID: sourceID, descriptor: descriptor)
            guard !self.state.value.stopped else {
                self.endFeed()
                return
            }
            self.logger.info("Live source left; the relay takes the mount back")
            self.state.value.active = true
            self.state.value.idleSince = nil
            self.watchLinger()
            self.dropConnections()
            self.state.value.schedule = RelaySchedule(upstreamCount: max(self.relay.upstreams.count, 1))
            self.holdFeed()
            self.connect()
        }
    }

    /// What an admin's killsource (or a reload that removes the mount) does to the relayed source: it ends, with its
    /// listeners (and its mirrors'), now; the relay connects again as after any failure.
    private func feedCloser() -> @Sendable () -> Void {
        let task = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        return {
            loop.execute {
                task.value.endFeed()
                task.value.dropConnections()
                task.value.attemptEnded(streamed: false, reason: "the source was removed", logger: task.value.logger)
            }
        }
    }

    /// Makes `sourceID`, which already feeds `mount`, this relay's feed (its `<sources>` slot is taken).
    @discardableResult
    private func adopt(mount: Mount, sourceID: Int, descriptor: SourceDescriptor) -> SourceFeed {
        let login = SourceLogin(
            server: server,
            configuration: server.configuration,
            path: relay.localMount,
            sourceID: sourceID,
            logger: logger
        )
        let feed = login.makeFeed(mount: mount, descriptor: descriptor, accessRecord: nil, logger: logger)
        feed.started()
        mount.attachSource(closer: feedCloser())
        state.value.feed = feed
        feedingSourceID.store(sourceID, ordering: .releasing)
        return feed
    }

    /// A connection answered 200 with `descriptor`: the feed its audio goes to, or why it is refused.
    ///
    /// For the main connection that is the held feed when its format is the same, else a new claim of the local
    /// mount. For a probe of a higher-priority upstream, a stream of the same format takes over from the one
    /// playing at once (refused otherwise: the probe fails).
    fileprivate func feed(for stream: RelayStream, descriptor: SourceDescriptor) -> Result<SourceFeed, StreamRefusal> {
        let id = ObjectIdentifier(stream)
        if let probe = state.value.probe, probe.stream == id {
            state.value.probe = nil
            guard let feed = state.value.feed, !feed.ended, feed.format == descriptor.format else {
                probe.task.cancel()
                probeFailed(upstream: probe.upstream)
                return .failure(.probeNotUsable)
            }
            stream.logger.info("Higher-priority upstream is back; switching to it")
            // The old connection's end is ignored from now on; its last partial frame is dropped.
            state.value.request?.cancel()
            state.value.request = probe.task
            state.value.mainStream = id
            state.value.schedule.switchTo(upstream: probe.upstream)
            state.value.probeDelay = Self.firstProbeDelay
            feed.startNewStream()
            feed.descriptorChanged(to: descriptor)
            scheduleProbe()
            return .success(feed)
        }
        guard state.value.mainStream == id else { return .failure(.superseded) }
        state.value.hold?.cancel()
        state.value.hold = nil
        if let feed = state.value.feed, !feed.ended, feed.format == descriptor.format {
            feed.startNewStream()
            feed.descriptorChanged(to: descriptor)
            attachMirrors(to: feed, descriptor: descriptor)
            scheduleProbe()
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
        switch login.claim(descriptor) {
        case .failure(let refusal):
            return .failure(.mount(refusal))
        case .success(let mount):
            let feed = adopt(mount: mount, sourceID: login.sourceID, descriptor: descriptor)
            attachMirrors(to: feed, descriptor: descriptor)
            scheduleProbe()
            return .success(feed)
        }
    }

    /// Claims the mirror mounts for `feed`'s blocks. A mirror that a source of its own feeds is skipped (logged).
    ///
    /// Called for each new stream, so a mirror that could not be claimed before (a source was there) is tried
    /// again; mirrors the feed already has are left as they are.
    private func attachMirrors(to feed: SourceFeed, descriptor: SourceDescriptor) {
        let closer = feedCloser()
        let present = Set(feed.mirrors.map(\.mount.path))
        for path in mirrorPaths where !present.contains(path) {
            let login = SourceLogin(
                server: server,
                configuration: server.configuration,
                path: path,
                sourceID: server.makeConnectionID(),
                logger: logger
            )
            switch login.claim(descriptor, takesSourceSlot: false) {
            case .success(let mount):
                mount.attachSource(closer: closer)
                feed.addMirror(mount, sourceID: login.sourceID)
            case .failure:
                logger.warning("A source feeds a mount this relay also serves; not relayed there", metadata: ["mirror.path": "\(path)"])
            }
        }
    }

    /// A reload changed which other mounts share this relay's stream (from any thread): mirrors no longer wanted
    /// end (their listeners go to their fallbacks, or are closed); new ones are fed from the next block on.
    /// The relay's own mount and connection carry on untouched.
    func setMirrors(_ paths: [String]) {
        mirrorList.withLock { $0 = paths }
        eventLoop.execute {
            guard let feed = self.state.value.feed, !feed.ended else { return }
            for mirror in feed.mirrors where !paths.contains(mirror.mount.path) {
                feed.removeMirror(mirror.mount)
            }
            if case .live(let live) = feed.mount.snapshot.source {
                self.attachMirrors(to: feed, descriptor: live.descriptor)
            }
        }
    }

    /// Why a connection's stream is not used.
    fileprivate enum StreamRefusal: Error {
        case mount(SourceLogin.Refusal)
        /// A probe's stream has another format than the one playing.
        case probeNotUsable
        /// The connection is no longer the relay's (cancelled meanwhile).
        case superseded
    }

    /// Whether `stream` is the connection feeding the mount.
    fileprivate func isMain(_ stream: RelayStream) -> Bool {
        state.value.mainStream == ObjectIdentifier(stream)
    }

    /// Ends the local source now: its listeners go to the fallback or are closed.
    private func endFeed() {
        state.value.hold?.cancel()
        state.value.hold = nil
        stopProbing()
        feedingSourceID.store(0, ordering: .releasing)
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

    /// A connection ended: `streamed` when its audio reached the mount. The end of the main connection schedules
    /// the next attempt; a probe's moves the probing on; any other (cancelled) connection's is ignored.
    fileprivate func streamEnded(_ stream: RelayStream, streamed: Bool, reason: String) {
        let id = ObjectIdentifier(stream)
        if let probe = state.value.probe, probe.stream == id {
            stream.logger.debug("Higher-priority upstream still unavailable", metadata: ["reason": "\(reason)"])
            probeFailed(upstream: probe.upstream)
            return
        }
        guard state.value.mainStream == id else { return }
        state.value.mainStream = nil
        attemptEnded(streamed: streamed, reason: reason, logger: stream.logger)
    }

    /// The attempt is over: `streamed` when the upstream's audio reached the mount. Schedules the next one.
    private func attemptEnded(streamed: Bool, reason: String, logger: Logger) {
        state.value.request = nil
        stopProbing()
        guard !state.value.stopped, state.value.active, !awaitsMount else {
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

    /// A source feeds the mount and this relay yields to sources: wait for it to leave rather than retry. Should
    /// it have left already, the relay tries again at once.
    fileprivate func awaitLiveSource(_ stream: RelayStream) {
        guard isMain(stream), relay.yieldsToSource else { return }
        dropConnections()
        endFeed()
        stream.logger.info("A live source feeds the mount; the relay waits for it to leave")
        startAwaiting()
    }

    /// Waits for the live source to hand the mount back. A watch checks every two seconds that the mount is
    /// still live: should the source have left without handing it back (it ended while the relay was still
    /// deciding to wait, or its pipeline failed before it fed the mount), the relay connects again by itself.
    private func startAwaiting() {
        awaiting.store(true, ordering: .releasing)
        state.value.awaitWatch?.cancel()
        state.value.awaitWatch = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(2), delay: .seconds(2)) { _ in
            guard self.awaitsMount, self.server.mounts.mount(self.relay.localMount)?.isLive != true else { return }
            self.logger.info("The mount has no source any more; the relay connects again")
            self.stopAwaiting()
            guard self.state.value.active, !self.state.value.stopped else { return }
            self.state.value.schedule = RelaySchedule(upstreamCount: max(self.relay.upstreams.count, 1))
            self.connect()
        }
    }

    private func stopAwaiting() {
        awaiting.store(false, ordering: .releasing)
        state.value.awaitWatch?.cancel()
        state.value.awaitWatch = nil
    }

    /// Drops `stream`'s connection (its head refused the relay); its end then comes through `streamEnded`.
    fileprivate func abandon(_ stream: RelayStream) {
        if let probe = state.value.probe, probe.stream == ObjectIdentifier(stream) {
            probe.task.cancel()
        } else if isMain(stream) {
            state.value.request?.cancel()
        }
    }
}

/// One connection to an upstream: its response head claims the mount (or, for a probe, takes over from the
/// stream playing), its body feeds it. Confined to the relay's event loop (the client calls it there).
fileprivate final class RelayStream: HTTPClientResponseDelegate {
    private let source: RelaySource
    /// The upstream's URL without credentials, as status shows it.
    private let upstreamURL: String
    private let eventLoop: EventLoop
    let logger: Logger
    private var feed: SourceFeed?
    private var deinterleaver: ICYDeinterleaver?
    private var failure: String?
    private var streamed = false
    private var finished = false
    /// Body bytes received, and the feed's frame count when this connection began feeding it.
    private var received = 0
    private var framesAtStart = 0
    /// A framed stream (MPEG audio, ADTS) without a single frame in this many bytes is not audio: the connection is dropped.
    static let garbageLimit = 128 * 1024
    /// Set while this stream's first bytes are matched against what the feed already published (a stream that
    /// continues a held feed, or takes over from another upstream); see `StreamAligner`.
    private var aligner: StreamAligner?
    private var alignmentDeadline: Scheduled<Void>?
    /// How long the stream's first bytes are held at most while aligning.
    static let alignmentWait = TimeAmount.seconds(1)

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
        let contentType = head.headers.first(name: "content-type")
        guard !StreamFormat.isDocument(contentType: contentType) else {
            refuse("not an audio stream (Content-Type: \(contentType ?? "-"))")
            return
        }
        let relay = source.relay
        var descriptor = SourceDescriptor(
            contentType: contentType,
            headers: head.headers.map { (name: $0.name, value: $0.value) },
            peerAddress: upstreamURL,
            connectedAt: Date()
        )
        descriptor.relayUpstream = upstreamURL
        switch source.feed(for: self, descriptor: descriptor) {
        case .failure(.mount(.tooManySources)):
            refuse("all <sources> are taken")
        case .failure(.mount(.mountInUse)):
            // Before refusing: cancelling the connection may end it at once, and its end would schedule a retry.
            source.awaitLiveSource(self)
            refuse("a source feeds \(relay.localMount)")
        case .failure(.probeNotUsable):
            refuse("its stream's format differs from the one playing")
        case .failure(.superseded):
            refuse("superseded")
        case .success(let feed):
            self.feed = feed
            framesAtStart = feed.framesReceived
            if feed.format.isFramed, !feed.publishedTail.isEmpty {
                aligner = StreamAligner(tail: feed.publishedTail)
                let stream = NIOLoopBound(self, eventLoop: eventLoop)
                alignmentDeadline = eventLoop.scheduleTask(in: Self.alignmentWait) { stream.value.stopAligning() }
            }
            if relay.relayMetadata, let interval = head.headers.first(name: "icy-metaint").flatMap(Int.init), interval > 0 {
                deinterleaver = ICYDeinterleaver(interval: interval)
            }
            logger.info("Relay connected", metadata: ["source.content_type": "\(descriptor.contentType)"])
        }
    }

    /// Nothing of this response will be used: say why, and close the connection.
    private func refuse(_ reason: String) {
        if failure == nil { failure = reason }
        feed = nil
        source.abandon(self)
    }

    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        // A connection that lost its place (a probe took over, the relay yielded) feeds nothing more.
        if let feed, !feed.ended, source.isMain(self) {
            if deinterleaver == nil {
                deliver(bytes, to: feed)
            } else {
                for part in deinterleaver!.receive(bytes) {
                    switch part {
                    case .audio(let audio): deliver(audio, to: feed)
                    case .title(let title): updateTitle(title, on: feed.mounts)
                    }
                }
            }
            received += bytes.readableBytes
            // Audio reached the mount: for a framed format, a frame (random bytes are not a stream that played).
            if feed.format.isFramed {
                streamed = streamed || feed.framesReceived > framesAtStart
                if received >= Self.garbageLimit, !streamed {
                    let name = feed.format == .aac ? "ADTS (AAC)" : "MPEG audio"
                    refuse("no \(name) frame in the first \(Self.garbageLimit / 1024) KiB")
                }
            } else {
                streamed = streamed || bytes.readableBytes > 0
            }
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    /// Audio on its way to the feed, through the aligner while it still looks for where to take up.
    private func deliver(_ audio: ByteBuffer, to feed: SourceFeed) {
        guard var aligner else {
            feed.receive(audio)
            return
        }
        let outcome = aligner.receive(audio)
        self.aligner = aligner
        settle(outcome, feed: feed)
    }

    /// Stops holding the stream's first bytes: what is held goes on as it is.
    private func stopAligning() {
        guard var aligner, let feed, !feed.ended, source.isMain(self) else { return }
        let outcome = aligner.release()
        settle(outcome, feed: feed)
    }

    private func settle(_ outcome: StreamAligner.Outcome, feed: SourceFeed) {
        switch outcome {
        case .holding:
            return
        case .aligned(let rest, let skipped):
            logger.info("Relay stream takes up where the last one left off", metadata: ["relay.skipped_bytes": "\(skipped)"])
            feed.receive(rest)
        case .gaveUp(let held):
            feed.receive(held)
        }
        aligner = nil
        alignmentDeadline?.cancel()
        alignmentDeadline = nil
    }

    private func updateTitle(_ title: String, on mounts: [Mount]) {
        for mount in mounts where mount.snapshot.metadata.title != title {
            switch mount.metadataUpdated(MetadataUpdate(title: title)) {
            case .updated: logger.info("Metadata on mountpoint \(mount.path) changed to \"\(title)\" (relayed)")
            case .rejectTooLong: logger.warning("Relayed metadata too long")
            case .rejectNoSource: break
            }
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
        source.streamEnded(self, streamed: streamed, reason: reason)
    }
}
