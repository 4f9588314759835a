import FloeCore
import FloeServer
import Foundation
import Logging

/// The error log and access log the configuration names, with swift-log bootstrapped to write the error log.
/// `-` means standard error (error log) or standard output (access log); relative names are under `paths.logdir`.
final class LogFiles: Sendable {
    let errorLog: LogFile
    let accessLog: AccessLog?

    init(configuration: ServerConfiguration, levelOverride: Logger.Level?) throws {
        let logging = configuration.logging
        func destination(_ name: String, dash: LogFile.Destination) -> LogFile.Destination {
            if name == "-" { return dash }
            return .file(name.hasPrefix("/") ? name : configuration.paths.logdir + "/" + name)
        }
        errorLog = try LogFile(destination(logging.errorLog, dash: .standardError))
        accessLog = try logging.accessLog.map { AccessLog(file: try LogFile(destination($0, dash: .standardOutput))) }
        let level = levelOverride ?? Self.level(logging.level)
        let file = errorLog
        LoggingSystem.bootstrap { label in ErrorLogHandler(label: label, file: file, level: level) }
    }

    /// Reopens both logs (SIGHUP, after logrotate).
    func reopen() {
        errorLog.reopen()
        accessLog?.reopen()
    }

    /// Writes every queued line and stops the writers (at exit).
    func close() {
        accessLog?.close()
        errorLog.close()
    }

    /// Icecast's levels by name or number (4 debug … 1 error).
    static func level(_ name: String) -> Logger.Level {
        switch name.lowercased() {
        case "debug", "4": return .debug
        case "warning", "warn", "2": return .warning
        case "error", "1": return .error
        default: return .info
        }
    }
}
