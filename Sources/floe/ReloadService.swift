import FloeCore
import FloeServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on SIGHUP without dropping anyone: new limits and mount settings apply to new
/// connections, a mount removed from the configuration has its source ended, and log files are reopened (for
/// logrotate). A configuration that fails to load is logged and the running one kept.
struct ReloadService: Service {
    let source: ConfigurationSource
    let server: FloeServer
    let logs: LogFiles
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logs.reopen()
            do {
                let loaded = try source.load()
                server.reload(loaded.configuration)
                logger.info("Configuration reloaded", metadata: ["warnings": "\(loaded.warnings.count)"])
            } catch {
                logger.error("Configuration not reloaded; the running one stays", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// How service-lifecycle names it in the log: its configuration source, not every stored property.
extension ReloadService: CustomStringConvertible {
    var description: String { "ReloadService(\(source))" }
}
