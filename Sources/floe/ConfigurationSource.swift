import FloeCore
import Foundation

/// Where the configuration comes from, and how to read it again on SIGHUP.
///
/// The embedded default never ships a well-known password: when its source or admin password is unset, one is
/// generated at start (or taken from `FLOE_SOURCE_PASSWORD` / `FLOE_ADMIN_PASSWORD`) and kept for the life of
/// the process, so a reload does not change it under running clients.
struct ConfigurationSource: Sendable {
    enum Kind: Sendable {
        /// The embedded default plus `./mounts`, with the command line's address and port.
        case embedded(bindAddress: String, port: Int)
        /// A native YAML file with its mounts directory.
        case native(path: String)
        /// An Icecast 2.4 `icecast.xml`.
        case icecast(path: String)
    }

    let kind: Kind
    let generatedSourcePassword: String
    let generatedAdminPassword: String

    init(kind: Kind) {
        self.kind = kind
        let environment = ProcessInfo.processInfo.environment
        self.generatedSourcePassword = environment["FLOE_SOURCE_PASSWORD"] ?? Self.randomPassword()
        self.generatedAdminPassword = environment["FLOE_ADMIN_PASSWORD"] ?? Self.randomPassword()
    }

    /// The file named on the command line, if any.
    var fileName: String? {
        switch kind {
        case .embedded: return nil
        case .native(let path), .icecast(let path): return path
        }
    }

    /// Reads the configuration (again).
    func load() throws(ConfigurationError) -> LoadedConfiguration {
        switch kind {
        case .embedded(let bindAddress, let port):
            var loaded = try ConfigurationDirectoryLoader.load(mainFile: nil)
            if loaded.configuration.listenSockets.isEmpty {
                loaded.configuration.listenSockets = [.init()]
            }
            loaded.configuration.listenSockets[0].bindAddress = bindAddress
            loaded.configuration.listenSockets[0].port = port
            if loaded.configuration.authentication.sourcePassword == nil {
                loaded.configuration.authentication.sourcePassword = generatedSourcePassword
            }
            if loaded.configuration.authentication.adminPassword == nil {
                loaded.configuration.authentication.adminPassword = generatedAdminPassword
            }
            return loaded
        case .native(let path):
            return try ConfigurationDirectoryLoader.load(mainFile: path)
        case .icecast(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(file: path, line: nil, option: "", message: "cannot read the file")
            }
            return try IcecastXMLConfigurationLoader().load(xmlData: Array(data), fileName: path)
        }
    }

    private static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// The passwords are left out: service-lifecycle logs each service (the reload service holds this) at debug level,
/// and the generated passwords appeared in the error log in clear (found by a probe).
extension ConfigurationSource: CustomStringConvertible {
    var description: String {
        switch kind {
        case .embedded(let bindAddress, let port): return "embedded default configuration on \(bindAddress):\(port)"
        case .native(let path): return "native configuration \(path)"
        case .icecast(let path): return "icecast.xml \(path)"
        }
    }
}
