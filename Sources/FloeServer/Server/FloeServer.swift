import FloeCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The Floe server: listening sockets, the mounts, and every connection, as a `Service`.
///
/// `run()` binds, serves until graceful shutdown is requested (SIGTERM/SIGINT through `ServiceGroup`), then
/// stops accepting, closes sources and listeners, and returns. Tests use `start()` and `stop()` directly.
public final class FloeServer: Service, Sendable {
    private let context: ServerContext
    /// Where each request goes; built once.
    private let router: Router
    private let group: any EventLoopGroup
    private let serverChannels = Mutex<[Channel]>([])
    private let onListening: @Sendable ([SocketAddress]) -> Void
    /// File fallbacks playing now, by mount path, with the source id each runs under.
    private let fileSources = Mutex<[String: (source: FileSource, id: Int)]>([:])
    /// Slave mode's poll of the master's stream list (idle without `master-server`).
    private let masterPoller = Mutex<MasterPoller?>(nil)
    /// Samples listener counts for the admin page's graph.
    private let historySampler = Mutex<RepeatedTask?>(nil)

    /// `onListening` is called once every socket is bound, with the real addresses (useful with port 0).
    public init(
        configuration: ServerConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        accessLog: AccessLog? = nil,
        onListening: @escaping @Sendable ([SocketAddress]) -> Void = { _ in }
    ) {
        self.group = eventLoopGroup
        self.onListening = onListening
        let loops = Array(eventLoopGroup.makeIterator())
        self.context = ServerContext(configuration: configuration, eventLoops: loops, logger: logger, accessLog: accessLog)
        self.router = Router(server: context, eventLoop: eventLoopGroup.next())
    }

    /// Binds every configured listen socket and starts accepting. Returns the bound addresses (with the real
    /// port when the configuration asked for port 0).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        let configuration = context.configuration
        var addresses: [SocketAddress] = []
        if let tls = configuration.tls {
            logCertificate(try context.tls.reload(tls), settings: tls, event: "TLS certificate loaded")
        }
        for socket in configuration.listenSockets {
            let host = socket.bindAddress ?? "0.0.0.0"
            let channel = try await bootstrap(.http(shoutcastMount: socket.shoutcastMount, tls: socket.tls))
                .bind(host: host, port: socket.port).get()
            serverChannels.withLock { $0.append(channel) }
            if let address = channel.localAddress {
                if addresses.isEmpty, let port = address.port { context.publicPort.store(port, ordering: .relaxed) }
                addresses.append(address)
            }
            context.logger.info(
                "Listening",
                metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "tls": "\(socket.tls.rawValue)"]
            )
            if let shoutcastMount = socket.shoutcastMount, let port = channel.localAddress?.port {
                // SHOUTcast v1 sources connect to the next port (libshout's ICY mode adds 1 by itself).
                let shoutcast = try await bootstrap(.shoutcastSource(mount: shoutcastMount))
                    .bind(host: host, port: port + 1).get()
                serverChannels.withLock { $0.append(shoutcast) }
                context.logger.info(
                    "Listening for SHOUTcast sources",
                    metadata: ["address": "\(shoutcast.localAddress.map { "\($0)" } ?? "?")", "mount.path": "\(shoutcastMount)"]
                )
            }
        }
        startFileFallbacks(configuration)
        context.relays.apply(configuration, server: context, eventLoops: Array(group.makeIterator()))
        let poller = MasterPoller(server: context, eventLoops: Array(group.makeIterator()))
        masterPoller.withLock { $0 = poller }
        poller.start()
        context.intros.prepare(configuration)
        context.speakers.apply(configuration, context: context, eventLoops: Array(group.makeIterator()))
        context.transcodes.apply(configuration, context: context)
        let context = self.context
        let sampler = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(configured: ListenerHistory.interval)) { _ in
            var counts: [String: Int] = [:]
            for mount in context.mounts.all { counts[mount.path] = mount.snapshot.listeners }
            context.history.record(counts)
            // Mounts sources made up and left: gone from status and `/metrics`.
            let retired = context.mounts.retireUnused(configuration: context.configuration)
            if !retired.isEmpty {
                context.logger.info("Unconfigured mounts without source or listeners retired", metadata: ["count": "\(retired.count)"])
            }
        }
        historySampler.withLock { $0 = sampler }
        onListening(addresses)
        return addresses
    }

    /// Plays every fallback that names an MP3 file under the web root rather than a mount, and stops those the
    /// configuration no longer names (or that became configured mounts).
    private func startFileFallbacks(_ configuration: ServerConfiguration) {
        let targets = configuration.fallbackTargets
        let retired = fileSources.withLock { sources in
            let gone = sources.keys.filter { !targets.contains($0) || configuration.mounts[$0] != nil }
            return gone.compactMap { sources.removeValue(forKey: $0) }
        }
        for (source, id) in retired {
            source.stop(sourceID: id)
        }
        let loops = Array(group.makeIterator())
        for path in targets.sorted() where configuration.mounts[path] == nil {
            guard fileSources.withLock({ $0[path] == nil }) else { continue }
            let file = configuration.paths.webroot + path
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let mount = context.mounts.mountCreatingIfNeeded(
                path,
                queueCapacity: configuration.queueCapacity(forMount: path),
                hls: configuration.mount(path).hlsSettings
            )
            let blockDuration = Duration.seconds(configured: configuration.limits.blockDuration)
            let loop = loops[Int(UInt(bitPattern: path.hashValue) % UInt(loops.count))]
            guard let source = FileSource(bytes: Array(data), mount: mount, eventLoop: loop, blockDuration: blockDuration)
            else {
                context.logger.warning("Fallback file holds no MPEG audio", metadata: ["file": "\(file)"])
                continue
            }
            let id = context.makeConnectionID()
            guard source.start(sourceID: id, name: String(path.dropFirst())) else {
                context.logger.warning("A source feeds the fallback mount; the file is not played", metadata: ["mount.path": "\(path)"])
                continue
            }
            fileSources.withLock { $0[path] = (source, id) }
            context.logger.info("Playing file fallback", metadata: ["mount.path": "\(path)", "file": "\(file)"])
        }
    }

    /// Stops accepting and closes every connection: sources end, listeners are disconnected.
    public func stop() async {
        historySampler.withLock { $0?.cancel() }
        let listening = serverChannels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in listening {
            try? await channel.close()
        }
        let files = fileSources.withLock { sources in
            defer { sources.removeAll() }
            return Array(sources.values)
        }
        for (source, id) in files {
            source.stop(sourceID: id)
        }
        masterPoller.withLock { $0 }?.stop()
        context.relays.stopAll()
        for closed in context.speakers.closeAll() {
            try? await closed.get()
        }
        await context.transcodes.closeAll()
        // Close every connection at once, then wait for all of them: thousands of listeners must not be closed
        // one round trip at a time.
        await context.connections.closeAll()
        context.logger.info("Server stopped")
    }

    public func run() async throws {
        try await start()
        // Wait for SIGTERM/SIGINT (or the service group ending); cancellation means the same here.
        try? await gracefulShutdown()
        await stop()
    }

    /// Applies a new configuration without dropping anyone: new limits and mount settings apply to connections made
    /// from now on; a mount the old configuration named and the new one does not has its source ended (its
    /// listeners go to a fallback, or are closed); new file fallbacks start playing. Listen sockets change only at
    /// restart.
    public func reload(_ configuration: ServerConfiguration) {
        let old = context.replaceConfiguration(configuration)
        for path in old.mounts.keys where configuration.mounts[path] == nil {
            guard let mount = context.mounts.mount(path), mount.isLive else { continue }
            context.logger.info("Mount removed from the configuration; ending its source", metadata: ["mount.path": "\(path)"])
            mount.closeSource()
        }
        // HLS settings apply at once; a changed one starts a new window after a discontinuity.
        for mount in context.mounts.all {
            mount.hls?.reconfigure(configuration.mount(mount.path).hlsSettings)
        }
        if old.listenSockets != configuration.listenSockets {
            context.logger.warning("Listen sockets change only when Floe restarts")
        }
        if let tls = configuration.tls {
            // A renewed certificate (certbot's deploy hook sends SIGHUP): new connections get it, open ones keep theirs.
            do {
                logCertificate(try context.tls.reload(tls), settings: tls, event: "TLS certificate reloaded")
            } catch {
                context.logger.error(
                    "TLS certificate not reloaded; the one in use stays",
                    metadata: ["file": "\(error.file)", "error": "\(error.reason)"]
                )
            }
        }
        startFileFallbacks(configuration)
        context.relays.apply(configuration, server: context, eventLoops: Array(group.makeIterator()))
        context.intros.prepare(configuration)
        context.speakers.apply(configuration, context: context, eventLoops: Array(group.makeIterator()))
        context.transcodes.apply(configuration, context: context)
    }

    /// Logs what certificate TLS connections get, and warns when it expires within `expiryWarning`.
    private func logCertificate(_ certificate: TLSCertificateSummary, settings: TLSCertificateSettings, event: String) {
        let metadata: Logger.Metadata = [
            "file": "\(settings.certificateFile)",
            "subject": "\(certificate.commonName ?? "-")",
            "serial": "\(certificate.serial)",
            "not-after": "\(certificate.notValidAfter)",
        ]
        context.logger.info("\(event)", metadata: metadata)
        if certificate.notValidAfter.timeIntervalSinceNow < Self.expiryWarning {
            context.logger.warning("TLS certificate expires within 14 days", metadata: metadata)
        }
    }

    /// How close to its end a certificate is warned about.
    public static let expiryWarning: TimeInterval = 14 * 24 * 3600

    /// The serial number of the certificate new TLS connections get, in hex (tests, logs).
    public var tlsCertificateSerial: String? {
        context.tls.certificate?.serial
    }

    // MARK: Observing (status pages, tests)

    /// A mount's state, or `nil` if no source has ever fed it.
    public func mountState(_ path: String) -> MountStateMachine? {
        context.mounts.mount(path)?.snapshot
    }

    /// Open client connections of every kind.
    public var connectionCount: Int {
        context.connections.count.load(ordering: .relaxed)
    }

    // MARK: Bootstrap

    /// What a listening socket speaks.
    private enum SocketRole {
        /// HTTP (Icecast): listeners, sources, admin. `shoutcastMount` is where `/admin.cgi` title updates go;
        /// `tls` says whether connections may or must be TLS.
        case http(shoutcastMount: String?, tls: TLSMode)
        /// SHOUTcast v1 sources for one mount.
        case shoutcastSource(mount: String)
    }

    /// How long accepting pauses after an accept error (out of descriptors): short enough that listeners get in
    /// soon after connections close, long enough that a full table costs no CPU.
    static let acceptBackoff = TimeAmount.milliseconds(250)

    /// Bytes read at a time from a connection until it is a source.
    static let requestReadSize = 128

    private func bootstrap(_ role: SocketRole) -> ServerBootstrap {
        let context = self.context
        let router = self.router
        return ServerBootstrap(group: group)
            // Icecast listens with a backlog of 5, which is where it drops connections in a listener storm.
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Out of descriptors, accept() fails at once, again and again: log it, and pause accepting for a moment.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptErrorHandler(logger: context.logger, pause: Self.acceptBackoff) {
                            context.connections.count.load(ordering: .relaxed)
                        }
                    )
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // NIO keeps each channel's receive buffer for the channel's life. A request head (70 to 800 bytes) is
            // read in a few reads of 128 bytes, once per connection; listeners send nothing after it, so each keeps
            // 128 bytes instead of the default 2 KiB (measured: about 0.4 KB of RSS per listener less than 512).
            // Sources get a growing buffer once they log in (`SourceLogin`).
            .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.requestReadSize))
            .childChannelInitializer { channel in
                context.connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let id = context.makeConnectionID()
                    switch role {
                    case .http(let shoutcastMount, let tls):
                        let requestHead = RequestHeadHandler(
                            server: context,
                            router: router,
                            connectionID: id,
                            shoutcastMount: shoutcastMount
                        )
                        if tls != .off {
                            try channel.pipeline.syncOperations.addHandler(
                                TLSSniffer(mode: tls, contexts: context.tls, requestHead: requestHead)
                            )
                        }
                        try channel.pipeline.syncOperations.addHandler(requestHead)
                    case .shoutcastSource(let mount):
                        try channel.pipeline.syncOperations.addHandler(
                            ShoutcastSourceHandler(server: context, mountPath: mount, connectionID: id)
                        )
                    }
                }
            }
    }
}
