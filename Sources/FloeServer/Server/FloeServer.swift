import FloeCore
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
    private let group: any EventLoopGroup
    private let serverChannels = Mutex<[Channel]>([])
    private let openChannels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
    private let onListening: @Sendable ([SocketAddress]) -> Void

    /// `onListening` is called once every socket is bound, with the real addresses (useful with port 0).
    public init(
        configuration: ServerConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        onListening: @escaping @Sendable ([SocketAddress]) -> Void = { _ in }
    ) {
        self.group = eventLoopGroup
        self.onListening = onListening
        let loops = Array(eventLoopGroup.makeIterator())
        self.context = ServerContext(configuration: configuration, eventLoops: loops, logger: logger)
    }

    /// Binds every configured listen socket and starts accepting. Returns the bound addresses (with the real
    /// port when the configuration asked for port 0).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        let configuration = context.configuration
        var addresses: [SocketAddress] = []
        for socket in configuration.listenSockets {
            let channel = try await bootstrap().bind(host: socket.bindAddress ?? "0.0.0.0", port: socket.port).get()
            serverChannels.withLock { $0.append(channel) }
            if let address = channel.localAddress { addresses.append(address) }
            context.logger.info("Listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }
        onListening(addresses)
        return addresses
    }

    /// Stops accepting and closes every connection: sources end, listeners are disconnected.
    public func stop() async {
        let listening = serverChannels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in listening {
            try? await channel.close()
        }
        // Close every connection at once, then wait for all of them: thousands of listeners must not be closed
        // one round trip at a time.
        let open = openChannels.withLockedValue { Array($0.values) }
        for channel in open {
            channel.close(promise: nil)
        }
        for channel in open {
            try? await channel.closeFuture.get()
        }
        context.logger.info("Server stopped")
    }

    public func run() async throws {
        try await start()
        // Wait for SIGTERM/SIGINT (or the service group ending); cancellation means the same here.
        try? await gracefulShutdown()
        await stop()
    }

    /// Applies a new configuration to connections made from now on.
    public func reload(_ configuration: ServerConfiguration) {
        context.replaceConfiguration(configuration)
    }

    // MARK: Observing (status pages, tests)

    /// A mount's state, or `nil` if no source has ever fed it.
    public func mountState(_ path: String) -> MountStateMachine? {
        context.mounts.mount(path)?.snapshot
    }

    /// Open client connections of every kind.
    public var connectionCount: Int {
        context.connections.load(ordering: .relaxed)
    }

    // MARK: Bootstrap

    private func bootstrap() -> ServerBootstrap {
        let context = self.context
        let openChannels = self.openChannels
        return ServerBootstrap(group: group)
            // Icecast listens with a backlog of 5, which is where it drops connections in a listener storm.
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                context.connections.wrappingAdd(1, ordering: .relaxed)
                let key = ObjectIdentifier(channel)
                openChannels.withLockedValue { $0[key] = channel }
                channel.closeFuture.whenComplete { _ in
                    context.connections.wrappingSubtract(1, ordering: .relaxed)
                    openChannels.withLockedValue { _ = $0.removeValue(forKey: key) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHeadHandler(server: context, connectionID: context.makeConnectionID())
                    )
                }
            }
    }
}
