import FloeCore
import FloeServer
import Logging
import NIOCore
import NIOPosix

/// A real Floe server on 127.0.0.1 and a kernel-chosen port, for one test.
public final class TestServer: Sendable {
    public let server: FloeServer
    public let port: Int
    public let configuration: ServerConfiguration
    private let group: MultiThreadedEventLoopGroup

    public static let sourcePassword = "test-source-pw"
    public static let adminPassword = "test-admin-pw"

    /// Starts a server. `configure` adjusts a configuration that already has test passwords and one
    /// loopback socket on port 0.
    public init(
        threads: Int = 2,
        accessLog: AccessLog? = nil,
        log: LogCapture? = nil,
        _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws {
        var configuration = ServerConfiguration()
        configuration.listenSockets = [.init(bindAddress: "127.0.0.1", port: 0)]
        configuration.authentication.sourcePassword = Self.sourcePassword
        configuration.authentication.adminPassword = Self.adminPassword
        configure(&configuration)
        var logger = log.map { capture in Logger(label: "floe.test") { _ in capture.handler } } ?? Logger(label: "floe.test")
        logger.logLevel = log == nil ? .warning : .info
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let server = FloeServer(configuration: configuration, eventLoopGroup: group, logger: logger, accessLog: accessLog)
        let addresses = try await server.start()
        self.group = group
        self.server = server
        self.configuration = configuration
        self.port = addresses.first?.port ?? 0
    }

    /// Stops the server and its threads.
    public func stop() async {
        await server.stop()
        try? await group.shutdownGracefully()
    }

    /// Waits until `condition` holds, checking every 20 ms, for at most `timeout` seconds.
    public func waitUntil(timeout: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// Listeners on `mount` right now.
    public func listeners(_ mount: String) -> Int {
        server.mountState(mount)?.listeners ?? 0
    }

    /// Whether a source feeds `mount`.
    public func isLive(_ mount: String) -> Bool {
        if case .live = server.mountState(mount)?.source { return true }
        return false
    }
}
