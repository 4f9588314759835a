import FloeCore
import Foundation
import NIOCore

/// The configuration Floe runs on when given no file.
///
/// It must be safe to start on any machine, so it never ships a well-known password: source and admin
/// passwords are generated at each start (or taken from `FLOE_SOURCE_PASSWORD` / `FLOE_ADMIN_PASSWORD`) and
/// printed, and the server binds loopback unless `--bind` says otherwise.
enum DefaultConfiguration {
    static func make(bindAddress: String, port: Int) -> ServerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerConfiguration()
        configuration.listenSockets = [.init(bindAddress: bindAddress, port: port)]
        configuration.authentication.sourcePassword = environment["FLOE_SOURCE_PASSWORD"] ?? randomPassword()
        configuration.authentication.adminPassword = environment["FLOE_ADMIN_PASSWORD"] ?? randomPassword()
        return configuration
    }

    /// Tells the operator where to point a source client and where to listen, with the real bound port.
    static func printBanner(_ configuration: ServerConfiguration, addresses: [SocketAddress], configurationFile: String?) {
        let address = addresses.first
        let host = address?.ipAddress ?? "127.0.0.1"
        let shownHost = host == "0.0.0.0" ? "127.0.0.1" : host
        let port = address?.port ?? configuration.listenSockets[0].port
        let authentication = configuration.authentication
        let origin = configurationFile.map { "the configuration in \($0)" } ?? "the embedded default configuration"
        var banner = """
            Floe is running on \(origin).

              Point a source client at:  icecast://\(authentication.sourceUser):<source password>@\(shownHost):\(port)/live
              Listen at:                 http://\(shownHost):\(port)/live

            """
        if configurationFile == nil {
            let password = authentication.sourcePassword ?? ""
            banner = """
                Floe is running on \(origin).

                  Point a source client at:  icecast://\(authentication.sourceUser):\(password)@\(shownHost):\(port)/live
                    (e.g. ffmpeg -re -i music.mp3 -c copy -f mp3 icecast://\(authentication.sourceUser):\(password)@\(shownHost):\(port)/live)
                  Listen at:                 http://\(shownHost):\(port)/live
                  Admin user / password:     \(authentication.adminUser) / \(authentication.adminPassword ?? "")

                Passwords are generated at each start; set FLOE_SOURCE_PASSWORD and FLOE_ADMIN_PASSWORD to fix them.
                Stop with Ctrl-C.

                """
        }
        // Written unbuffered, so the banner shows at once even when stdout is a pipe.
        FileHandle.standardOutput.write(Data(banner.utf8))
    }

    private static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
