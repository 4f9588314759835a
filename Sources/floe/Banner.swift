import FloeCore
import Foundation
import NIOCore

/// What `floe` prints once it listens: where to point a source client and where to listen, with the real port.
enum Banner {
    static func print(_ configuration: ServerConfiguration, addresses: [SocketAddress], configurationFile: String?) {
        let address = addresses.first
        let host = address?.ipAddress ?? "127.0.0.1"
        let shownHost = host == "0.0.0.0" ? "127.0.0.1" : host
        let port = address?.port ?? configuration.listenSockets.first?.port ?? 8000
        let authentication = configuration.authentication
        let text: String
        if let configurationFile {
            text = """
                Floe is running on the configuration in \(configurationFile).

                  Point a source client at:  icecast://\(authentication.sourceUser):<source password>@\(shownHost):\(port)/live
                  Listen at:                 http://\(shownHost):\(port)/live

                """
        } else {
            let password = authentication.sourcePassword ?? ""
            text = """
                Floe is running on the embedded default configuration.

                  Point a source client at:  icecast://\(authentication.sourceUser):\(password)@\(shownHost):\(port)/live
                    (e.g. ffmpeg -re -i music.mp3 -c copy -f mp3 icecast://\(authentication.sourceUser):\(password)@\(shownHost):\(port)/live)
                  Listen at:                 http://\(shownHost):\(port)/live
                  Admin user / password:     \(authentication.adminUser) / \(authentication.adminPassword ?? "")

                Passwords are generated at each start; set FLOE_SOURCE_PASSWORD and FLOE_ADMIN_PASSWORD to fix them.
                Mounts are configured in ./mounts (one YAML file per mount). Stop with Ctrl-C; reload with SIGHUP.

                """
        }
        // Written unbuffered, so the banner shows at once even when stdout is a pipe.
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
