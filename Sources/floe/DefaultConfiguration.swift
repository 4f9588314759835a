import FloeCore
import Foundation

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

    static func printBanner(_ configuration: ServerConfiguration) {
        let socket = configuration.listenSockets[0]
        let host = socket.bindAddress ?? "127.0.0.1"
        let authentication = configuration.authentication
        let password = authentication.sourcePassword ?? ""
        let banner =
            """
            Floe is running on the embedded default configuration.

              Point a source client at:  icecast://\(authentication.sourceUser):\(password)@\(host):\(socket.port)/live
                (e.g. ffmpeg -re -i music.mp3 -c copy -f mp3 icecast://\(authentication.sourceUser):\(password)@\(host):\(socket.port)/live)
              Listen at:                 http://\(host):\(socket.port)/live
              Admin user / password:     \(authentication.adminUser) / \(authentication.adminPassword ?? "")

            Passwords are generated at each start; set FLOE_SOURCE_PASSWORD and FLOE_ADMIN_PASSWORD to fix them.
            Stop with Ctrl-C.

            """
        // Written unbuffered, so the banner shows at once even when stdout is a pipe.
        FileHandle.standardOutput.write(Data(banner.utf8))
    }

    private static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
