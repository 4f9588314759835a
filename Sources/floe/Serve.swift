import ArgumentParser
import FloeCore
import FloeServer
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Runs the server (the default command): on a native YAML file, an Icecast `icecast.xml`, or the embedded
/// default configuration.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @Option(name: .long, help: "A native YAML configuration file (its mounts directory is read too).")
    var config: String?

    @Option(name: .long, help: "Start from an Icecast 2.4 icecast.xml file.")
    var icecastConfig: String?

    @Option(name: .long, help: "Port for the embedded default configuration.")
    var port: Int = 8000

    @Option(name: .long, help: "Address for the embedded default configuration (loopback unless told otherwise).")
    var bind: String = "127.0.0.1"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level?

    func validate() throws {
        if config != nil, icecastConfig != nil {
            throw ValidationError("give --config or --icecast-config, not both")
        }
    }

    func run() async throws {
        let kind: ConfigurationSource.Kind
        if let config {
            kind = .native(path: config)
        } else if let icecastConfig {
            kind = .icecast(path: icecastConfig)
        } else {
            kind = .embedded(bindAddress: bind, port: port)
        }
        let source = ConfigurationSource(kind: kind)
        let loaded: LoadedConfiguration
        do {
            loaded = try source.load()
        } catch {
            throw ValidationError("\(error)")
        }
        let configuration = loaded.configuration

        let logs = try LogFiles(configuration: configuration, levelOverride: logLevel)
        // Every queued log line is written before the process exits, however `run` ends.
        defer { logs.close() }
        let logger = Logger(label: "floe")
        // Every listener is a descriptor: the soft limit (often 1,024) goes up to the hard one.
        let limit = FileDescriptorLimit.raise()
        logger.info("Open file limit", metadata: ["before": "\(limit.before)", "now": "\(limit.after)", "hard": "\(limit.hard)"])
        if configuration.limits.clients > limit.after - 64 {
            logger.warning(
                "The clients limit is more than the open file limit allows; connections beyond it wait until others close",
                metadata: ["clients": "\(configuration.limits.clients)", "open_file_limit": "\(limit.after)"]
            )
        }
        if !loaded.warnings.isEmpty {
            let options = loaded.warnings.map(\.option).joined(separator: ", ")
            logger.warning("Options Floe does not implement yet: \(options)")
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let server = FloeServer(
            configuration: configuration,
            eventLoopGroup: group,
            logger: logger,
            accessLog: logs.accessLog
        ) { addresses in
            Banner.print(configuration, addresses: addresses, configurationFile: source.fileName)
        }
        let reloader = ReloadService(source: source, server: server, logs: logs, logger: logger)
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [.init(service: server), .init(service: reloader)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let pidFile = configuration.paths.pidfile
        if let pidFile {
            try? "\(ProcessInfo.processInfo.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        }
        defer { if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) } }
        try await serviceGroup.run()
        try await group.shutdownGracefully()
    }
}
