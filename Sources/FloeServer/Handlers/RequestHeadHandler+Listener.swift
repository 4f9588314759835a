import FloeCore
import Foundation
import NIOCore

extension RequestHeadHandler {
    /// What a listener proved about itself, kept for the end of its connection.
    struct AuthenticatedListener {
        var user: String?
        var timeLimit: Double?
        var method: ListenerAuthentication
        var request: ListenerAuthenticator.Request
    }

    /// Serves `GET`/`HEAD` on a mount, after listener authentication when the mount asks for it.
    func acceptListener(context: ChannelHandlerContext, head: RequestHead, peer: String) {
        let configuration = server.configuration
        let path = head.path
        guard MountPath.isValid(path) else {
            // Not a mount name (`/`): perhaps the web root's index.
            let file = StaticFileResponder.response(for: path, method: head.method, configuration: configuration)
            respondAndClose(context: context, file ?? .error(404, "The file you requested could not be found"))
            return
        }
        guard let method = configuration.mount(path).listenerAuthentication else {
            serveListener(context: context, head: head, peer: peer, authenticated: nil)
            return
        }
        let forwarded: [(name: String, value: String)]
        if case .url(let options) = method {
            forwarded = options.headers.compactMap { name in head[name].map { (name, $0) } }
        } else {
            forwarded = []
        }
        let request = ListenerAuthenticator.Request(
            mountPath: path,
            uri: head.uri,
            connectionID: connectionID,
            peer: peer,
            userAgent: head["user-agent"],
            credentials: head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)),
            forwardedHeaders: forwarded
        )
        beginAuthenticating()
        let authenticator = ListenerAuthenticator(server: server, logger: logger)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let server = self.server
        authenticator.authenticate(request, method: method, configuration: configuration, on: context.eventLoop)
            .whenSuccess { outcome in
                let (handler, context) = loopBound.value
                switch outcome {
                case .denied:
                    handler.respondAndClose(context: context, .error(401, ""))
                case .allowed(let user, let timeLimit):
                    guard context.channel.isActive else {
                        if let user { server.releaseListenerUser(user, mount: path) }
                        return
                    }
                    let authenticated = AuthenticatedListener(user: user, timeLimit: timeLimit, method: method, request: request)
                    handler.serveListener(context: context, head: head, peer: peer, authenticated: authenticated)
                }
            }
    }

    /// Icecast's headers, then the intro, the burst and the live stream.
    func serveListener(context: ChannelHandlerContext, head: RequestHead, peer: String, authenticated: AuthenticatedListener?) {
        let configuration = server.configuration
        let path = head.path
        let mount: Mount
        let descriptor: SourceDescriptor
        let generation: Int
        switch admit(path: path, configuration: configuration, counting: head.method != "HEAD") {
        case .admitted(let servingMount, let admitted, let admittedGeneration):
            mount = servingMount
            descriptor = admitted
            generation = admittedGeneration
        case .notFound:
            releaseUser(authenticated)
            let file = StaticFileResponder.response(for: path, method: head.method, configuration: configuration)
            respondAndClose(context: context, file ?? .error(404, "The file you requested could not be found"))
            return
        case .full:
            releaseUser(authenticated)
            respondAndClose(context: context, .error(403, "max listeners reached"))
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
        response.extraHeaders += descriptor.listenerHeaderLines(overrides: mountConfiguration)
        if let metadataInterval {
            response.extraHeaders.append("icy-metaint:\(metadataInterval)")
        }
        let responseHead = response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders)

        if head.method == "HEAD" {
            releaseUser(authenticated)
            respondAndClose(context: context, bytes: responseHead, status: 200)
            return
        }

        let channel = context.channel
        let broadcaster = mount.broadcaster(for: context.eventLoop)
        let session = ListenerSession(
            id: connectionID,
            channel: channel,
            homePath: path,
            metadataInterval: metadataInterval
        )
        do {
            try channel.syncOptions?.setOption(
                ChannelOptions.writeBufferWaterMark,
                value: .init(low: 32 * 1024, high: 128 * 1024)
            )
            try context.pipeline.syncOperations.addHandler(
                ListenerHandler(
                    session: session,
                    accessLog: server.accessLog,
                    accessRecord: accessRecord(context: context, status: 200, bytes: responseHead.readableBytes),
                    onClose: listenerLeftCallback(authenticated, eventLoop: context.eventLoop)
                ),
                position: .after(self)
            )
        } catch {
            mount.listenerLeftBeforeStreaming(id: connectionID, logger: logger)
            context.close(promise: nil)
            return
        }
        handOver()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        server.listeners.add(
            .init(
                id: connectionID,
                mount: mount.path,
                peer: peer,
                userAgent: head["user-agent"],
                user: authenticated?.user,
                connectedAt: Date(),
                channel: channel
            )
        )
        channel.write(responseHead, promise: nil)
        // The intro (frame-aligned, shared by every listener) plays before the burst.
        if let intro = mountConfiguration.intro.flatMap({ server.intro($0, configuration: configuration) }) {
            session.writeAudio(intro, metadata: mount.snapshot.metadata)
        }
        let burst = mountConfiguration.burstSize ?? configuration.limits.burstSize
        broadcaster.add(session, burstBytes: burst, generation: generation)
        let limits = [mountConfiguration.maxListenerDuration, authenticated?.timeLimit].compactMap { $0 }.filter { $0 > 0 }
        if let limit = limits.min() {
            let timer = context.eventLoop.scheduleTask(in: .seconds(configured: limit)) { channel.close(promise: nil) }
            channel.closeFuture.whenComplete { _ in timer.cancel() }
        }
        logger.debug("Listener joined", metadata: ["mount.path": "\(path)", "listener.id": "\(connectionID)"])
    }
}

extension RequestHeadHandler {
    enum ListenerAdmission {
        case admitted(Mount, SourceDescriptor, generation: Int)
        case notFound
        case full
    }

    /// Finds the mount that serves a listener of `path`: the mount itself when its source is live and it has
    /// room; otherwise the first live mount of its fallback chain (when the mount has no source, or when it is
    /// full and `fallback-when-full` is set).
    func admit(path: String, configuration: ServerConfiguration, counting: Bool) -> ListenerAdmission {
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
        guard let fallback = server.liveFallback(of: path, configuration: configuration),
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
}

extension RequestHeadHandler {
    /// Undoes an htpasswd user claim when the listener is not served after all.
    func releaseUser(_ authenticated: AuthenticatedListener?) {
        guard let authenticated, let user = authenticated.user else { return }
        server.releaseListenerUser(user, mount: authenticated.request.mountPath)
    }

    /// What happens when an authenticated listener leaves: its user is counted out, and a URL auth service hears
    /// `listener_remove` with the connected time.
    func listenerLeftCallback(_ authenticated: AuthenticatedListener?, eventLoop: EventLoop) -> () -> Void {
        let server = self.server
        let logger = self.logger
        let started = Date()
        let id = connectionID
        return {
            server.listeners.remove(id)
            guard let authenticated else { return }
            if let user = authenticated.user {
                server.releaseListenerUser(user, mount: authenticated.request.mountPath)
            }
            if case .url(let options) = authenticated.method {
                ListenerAuthenticator(server: server, logger: logger).listenerLeft(
                    authenticated.request,
                    options: options,
                    connectedSeconds: Int(Date().timeIntervalSince(started)),
                    configuration: server.configuration,
                    on: eventLoop
                )
            }
        }
    }
}
