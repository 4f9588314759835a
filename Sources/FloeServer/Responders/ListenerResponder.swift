import FloeCore
import Foundation
import Logging
import NIOCore

/// Serves `GET`/`HEAD` on a mount: listener authentication when the mount asks for it, admission (the mount, or
/// its live fallback), Icecast's response head, then the intro, the burst and the live stream through the
/// mount's broadcaster on this connection's event loop. A path that is not a live mount is a web-root file or 404.
struct ListenerResponder: Responder {
    let server: ServerContext

    /// What a listener proved about itself, kept for the end of its connection.
    struct AuthenticatedListener {
        var user: String?
        var timeLimit: Double?
        var method: ListenerAuthentication
        var request: ListenerAuthenticator.Request
    }

    func respond(to request: Request, on connection: Connection) {
        let head = request.head
        let path = head.path
        guard MountPath.isValid(path, configuration: request.configuration) else {
            // Not a mount name (`/`): perhaps the web root's index.
            StaticFileResponder.serve(request, on: connection)
            return
        }
        guard let method = request.configuration.mount(path).listenerAuthentication else {
            serve(request, on: connection, authenticated: nil)
            return
        }
        let forwarded: [(name: String, value: String)]
        if case .url(let options) = method {
            forwarded = options.headers.compactMap { name in head[name].map { (name, $0) } }
        } else {
            forwarded = []
        }
        let authentication = ListenerAuthenticator.Request(
            mountPath: path,
            uri: head.uri,
            connectionID: request.connectionID,
            peer: request.peer,
            userAgent: head["user-agent"],
            credentials: head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)),
            forwardedHeaders: forwarded
        )
        connection.awaitAnswer()
        let authenticator = ListenerAuthenticator(server: server, logger: request.logger)
        let loopBound = NIOLoopBound(connection, eventLoop: connection.eventLoop)
        authenticator.authenticate(authentication, method: method, configuration: request.configuration, on: connection.eventLoop)
            .whenSuccess { outcome in
                let connection = loopBound.value
                switch outcome {
                case .denied:
                    connection.respondAndClose(.error(401, ""))
                case .allowed(let user, let timeLimit):
                    let authenticated = AuthenticatedListener(
                        user: user,
                        timeLimit: timeLimit,
                        method: method,
                        request: authentication
                    )
                    guard connection.isActive else {
                        releaseAuthenticated(authenticated, on: connection.eventLoop)
                        return
                    }
                    serve(request, on: connection, authenticated: authenticated)
                }
            }
    }

    /// Icecast's headers, then the intro, the burst and the live stream.
    private func serve(_ request: Request, on connection: Connection, authenticated: AuthenticatedListener?) {
        let configuration = request.configuration
        let head = request.head
        let path = head.path
        // `max-listeners-per-ip`, server-wide and per mount: counted from admission to the end of the connection.
        // Per mount, the key is the mount and the address (a mount's limit never counts other mounts' listeners).
        var counted: [String] = []
        if head.method != "HEAD" {
            let limits = [
                configuration.limits.maxListenersPerIP.map { (key: request.peer, limit: $0) },
                configuration.mount(path).maxListenersPerIP.map { (key: path + "\u{0}" + request.peer, limit: $0) },
            ].compactMap { $0 }
            for (key, limit) in limits {
                guard server.listenersPerPeer.claim(key, limit: limit) else {
                    for claimed in counted { server.listenersPerPeer.release(claimed) }
                    releaseAuthenticated(authenticated, on: connection.eventLoop)
                    request.logger.info("Listener refused: too many from one address", metadata: ["limit": "\(limit)"])
                    connection.respondAndClose(.error(403, "Too many listeners from your address"))
                    return
                }
                counted.append(key)
            }
        }
        let listenersPerPeer = server.listenersPerPeer
        let countedKeys = counted
        let releasePeer = { for key in countedKeys { listenersPerPeer.release(key) } }
        let mount: Mount
        let descriptor: SourceDescriptor
        let generation: Int
        switch admit(path: path, configuration: configuration, counting: head.method != "HEAD") {
        case .admitted(let servingMount, let admitted, let admittedGeneration):
            mount = servingMount
            descriptor = admitted
            generation = admittedGeneration
        case .notFound:
            releasePeer()
            if head.method == "GET", let relay = server.relays.onDemandRelay(for: path) {
                // An on-demand relay's mount: the relay connects, and the listener is served once it is live.
                relay.demand()
                waitForRelay(request, on: connection, authenticated: authenticated, until: .now() + Self.onDemandWait)
                return
            }
            releaseAuthenticated(authenticated, on: connection.eventLoop)
            StaticFileResponder.serve(request, on: connection)
            return
        case .full:
            releaseAuthenticated(authenticated, on: connection.eventLoop)
            releasePeer()
            if let edge = configuration.mount(path).redirectWhenFull {
                // Another server takes the listener (icecast-kh's way of spreading listeners over edges).
                connection.respondAndClose(.redirect(302, to: edge + head.originForm, because: "This mount is full; listen at"))
                return
            }
            connection.respondAndClose(.error(403, "max listeners reached"))
            return
        }
        // A listener served by a fallback gets the fallback's headers, as in Icecast.
        let mountConfiguration = configuration.mount(mount.path)

        let wantsMetadata = (head["icy-metadata"].flatMap { Int($0.trimmingSpaces()) } ?? 0) != 0
        let configuredInterval = mountConfiguration.metadataInterval ?? 16_000
        let metadataInterval =
            wantsMetadata && descriptor.format.allowsICYMetadata && configuredInterval > 0 ? configuredInterval : nil
        var response = IcecastResponse(status: 200, contentType: descriptor.contentType)
        response.extraHeaders = IcecastResponse.corsHeaders(alreadyConfigured: configuration.httpHeaders)
        // A stream is never a page or a script of this origin, whatever type its source declares: a browser does
        // not sniff it into one, and a document it makes runs sandboxed, without the origin's cookies or tokens.
        response.extraHeaders += ["X-Content-Type-Options: nosniff", "Content-Security-Policy: sandbox"]
        response.extraHeaders += descriptor.listenerHeaderLines(overrides: mountConfiguration)
        if let metadataInterval {
            response.extraHeaders.append("icy-metaint:\(metadataInterval)")
        }
        let responseHead = response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders)

        if head.method == "HEAD" {
            releaseAuthenticated(authenticated, on: connection.eventLoop)
            connection.respondAndClose(bytes: responseHead, status: 200)
            return
        }

        let channel = connection.channel
        let id = request.connectionID
        let broadcaster = mount.broadcaster(for: connection.eventLoop)
        let session = ListenerSession(
            id: id,
            channel: channel,
            homePath: path,
            metadataInterval: metadataInterval,
            identity: ListenerIdentity(
                peer: request.peer,
                userAgent: head["user-agent"],
                user: authenticated?.user,
                connectedAt: Date()
            ),
            isTLS: request.isTLS
        )
        do {
            try channel.syncOptions?.setOption(
                ChannelOptions.writeBufferWaterMark,
                value: .init(low: 32 * 1024, high: 128 * 1024)
            )
            if let accessLog = server.accessLog {
                session.accessLog = (accessLog, connection.accessRecord(status: 200, bytes: responseHead.readableBytes))
            }
            let leftAuthenticated = authenticated.map { listenerLeftCallback($0, eventLoop: connection.eventLoop) }
            if !countedKeys.isEmpty {
                session.onClose = {
                    for key in countedKeys { listenersPerPeer.release(key) }
                    leftAuthenticated?()
                }
            } else {
                session.onClose = leftAuthenticated
            }
            try connection.addHandlers([session])
        } catch {
            releasePeer()
            releaseAuthenticated(authenticated, on: connection.eventLoop)
            mount.listenerLeftBeforeStreaming(id: id, logger: request.logger)
            connection.close()
            return
        }
        connection.handOver()
        channel.write(responseHead, promise: nil)
        // The intro (frame-aligned, shared by every listener) plays before the burst.
        if let intro = mountConfiguration.intro.flatMap({ server.intros.intro($0, configuration: configuration) }) {
            session.writeAudio(intro, metadata: mount.snapshot.metadata)
        }
        broadcaster.add(session, burst: configuration.burst(forMount: path), generation: generation)
        let limits = [mountConfiguration.maxListenerDuration, authenticated?.timeLimit].compactMap { $0 }.filter { $0 > 0 }
        if let limit = limits.min() {
            let timer = connection.eventLoop.scheduleTask(in: .seconds(configured: limit)) { channel.close(promise: nil) }
            channel.closeFuture.whenComplete { _ in timer.cancel() }
        }
        request.logger.debug("Listener joined", metadata: ["mount.path": "\(path)", "listener.id": "\(id)"])
    }

    /// How long a listener of an on-demand relay's mount waits for the relay's first stream.
    static let onDemandWait = TimeAmount.seconds(10)

    /// Serves the listener once the mount is live (its on-demand relay connected), or answers as for a mount
    /// without source at `deadline`. Checked every 50 ms on the connection's loop; a listener that hangs up
    /// meanwhile is forgotten.
    private func waitForRelay(
        _ request: Request,
        on connection: Connection,
        authenticated: AuthenticatedListener?,
        until deadline: NIODeadline
    ) {
        // The connection lives on this loop; the check runs there too.
        let bound = NIOLoopBound((self, request, connection, authenticated), eventLoop: connection.eventLoop)
        connection.eventLoop.scheduleTask(in: .milliseconds(50)) {
            let (responder, request, connection, authenticated) = bound.value
            responder.checkRelay(request, on: connection, authenticated: authenticated, until: deadline)
        }
    }

    private func checkRelay(
        _ request: Request,
        on connection: Connection,
        authenticated: AuthenticatedListener?,
        until deadline: NIODeadline
    ) {
        guard connection.channel.isActive else {
            releaseAuthenticated(authenticated, on: connection.eventLoop)
            return
        }
        if server.mounts.mount(request.head.path)?.isLive == true {
            serve(request, on: connection, authenticated: authenticated)
        } else if NIODeadline.now() < deadline {
            waitForRelay(request, on: connection, authenticated: authenticated, until: deadline)
        } else {
            releaseAuthenticated(authenticated, on: connection.eventLoop)
            StaticFileResponder.serve(request, on: connection)
        }
    }

    enum Admission {
        case admitted(Mount, SourceDescriptor, generation: Int)
        case notFound
        case full
    }

    /// Finds the mount that serves a listener of `path`: the mount itself when its source is live and it has
    /// room; otherwise the first live mount of its fallback chain (when the mount has no source, or when it is
    /// full and `fallback-when-full` is set).
    func admit(path: String, configuration: ServerConfiguration, counting: Bool) -> Admission {
        let mountConfiguration = configuration.mount(path)
        var full = false
        if let mount = server.mounts.mount(path) {
            let (action, generation) = mount.listenerArrived(maxListeners: mountConfiguration.maxListeners, counting: counting)
            switch action {
            case .admit(let descriptor):
                return .admitted(mount, descriptor, generation: generation)
            case .rejectFull:
                full = true
                guard mountConfiguration.fallbackWhenFull else { return .full }
            case .rejectNoSource:
                break
            }
        }
        guard let fallback = server.mounts.liveFallback(of: path, configuration: configuration),
            configuration.mount(fallback.path).listenerAuthentication == nil
                || configuration.mount(fallback.path).listenerAuthentication == mountConfiguration.listenerAuthentication
        else {
            return full ? .full : .notFound
        }
        let (action, generation) = fallback.listenerArrived(
            maxListeners: configuration.mount(fallback.path).maxListeners,
            counting: counting
        )
        switch action {
        case .admit(let descriptor): return .admitted(fallback, descriptor, generation: generation)
        case .rejectFull: return .full
        case .rejectNoSource: return full ? .full : .notFound
        }
    }

    /// Undoes an admission that authentication granted when the listener is not served after all (a HEAD, a full
    /// mount, a client gone while the service answered): the htpasswd user claim, and for URL authentication a
    /// `listener_remove`, as Icecast releases every authenticated client. A service counting sessions would
    /// otherwise keep one open for good (found by a probe).
    private func releaseAuthenticated(_ authenticated: AuthenticatedListener?, on eventLoop: EventLoop) {
        guard let authenticated else { return }
        listenerLeftCallback(authenticated, eventLoop: eventLoop)()
    }

    /// What happens when an authenticated listener leaves: its user is counted out, and a URL auth service hears
    /// `listener_remove` with the connected time. (Anonymous listeners need nothing: no closure is kept for them.)
    private func listenerLeftCallback(_ authenticated: AuthenticatedListener, eventLoop: EventLoop) -> () -> Void {
        let server = self.server
        let logger = server.logger
        let started = Date()
        return {
            if let user = authenticated.user {
                server.listenerUsers.release(user, mount: authenticated.request.mountPath)
            }
            if case .url(let options) = authenticated.method {
                ListenerAuthenticator(server: server, logger: logger).listenerLeft(
                    authenticated.request,
                    options: options,
                    connectedSeconds: Int(Date().timeIntervalSince(started)),
                    // The configuration in force when it leaves (a reload may have moved the service).
                    configuration: server.configuration,
                    on: eventLoop
                )
            }
        }
    }
}
