import ArgumentParser
import FloeCore
import FloeServer
import Foundation

/// `floe check-config [FILE]`: validates a configuration and prints the effective result as JSON.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration and print the effective configuration as JSON (passwords redacted).",
        discussion: """
            FILE is a native YAML file (with its mounts directory) or, when it ends in .xml, an Icecast icecast.xml. \
            Without FILE, the embedded default plus ./mounts is checked. A TLS certificate is loaded and checked \
            (key match, chain order, expiry within 14 days). Exits non-zero on any error.
            """
    )

    @Argument(help: "The configuration file.")
    var file: String?

    func run() throws {
        let kind: ConfigurationSource.Kind
        if let file {
            kind = file.lowercased().hasSuffix(".xml") ? .icecast(path: file) : .native(path: file)
        } else {
            kind = .embedded(bindAddress: "127.0.0.1", port: 8000)
        }
        do {
            var loaded = try ConfigurationSource(kind: kind).load()
            if file == nil {
                // Generated passwords are a start-up matter; show the embedded default as written.
                loaded.configuration.authentication.sourcePassword = nil
                loaded.configuration.authentication.adminPassword = nil
            }
            for warning in loaded.warnings {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            // The certificate is loaded as the server would load it: a file it would refuse is an error here.
            if let tls = loaded.configuration.tls {
                for warning in try TLSCertificateCheck.check(tls) {
                    FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
                }
            }
            print(loaded.configuration.effectiveJSON())
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
