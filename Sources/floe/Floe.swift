import ArgumentParser
import FloeCore
import FloeServer
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The `floe` command.
@main
struct Floe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floe",
        abstract: "An Icecast-compatible audio streaming and relay server.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

/// Runs the server: on an Icecast `icecast.xml`, or on the embedded default configuration.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @Option(name: .long, help: "Start from an Icecast 2.4 icecast.xml file.")
    var icecastConfig: String?

    @Option(name: .long, help: "Port for the embedded default configuration.")
    var port: Int = 8000

    @Option(name: .long, help: "Address for the embedded default configuration (loopback unless told otherwise).")
    var bind: String = "127.0.0.1"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "floe")

        let configuration: ServerConfiguration
        if let icecastConfig {
            configuration = try loadIcecastConfiguration(path: icecastConfig, logger: logger)
        } else {
            configuration = DefaultConfiguration.make(bindAddress: bind, port: port)
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let source = icecastConfig
        let server = FloeServer(configuration: configuration, eventLoopGroup: group, logger: logger) { addresses in
            DefaultConfiguration.printBanner(configuration, addresses: addresses, configurationFile: source)
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await serviceGroup.run()
        try await group.shutdownGracefully()
    }

    private func loadIcecastConfiguration(path: String, logger: Logger) throws -> ServerConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        let loaded: LoadedConfiguration
        do {
            loaded = try IcecastXMLConfigurationLoader().load(
                xml: String(decoding: data, as: UTF8.self),
                fileName: path
            )
        } catch {
            throw ValidationError("\(error)")
        }
        if !loaded.warnings.isEmpty {
            let options = loaded.warnings.map(\.option).joined(separator: ", ")
            logger.warning("icecast.xml options Floe does not implement yet: \(options)")
        }
        return loaded.configuration
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
