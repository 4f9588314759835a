import ArgumentParser
import FloeCore
import Logging

/// The `floe` command.
@main
struct Floe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floe",
        abstract: "An Icecast-compatible audio streaming and relay server.",
        subcommands: [Serve.self, CheckConfig.self, Play.self, FECReceive.self],
        defaultSubcommand: Serve.self
    )
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
