import FloeCore
import Logging

/// Answers `/admin/*` requests. This issue serves `metadata`; every other command gets Icecast's
/// 400 `Unrecognised command` — which is also the reply libshout's `GET /admin/!POKE` capability probe needs:
/// on no reply at all, libshout assumes TLS and fails.
struct AdminResponder {
    let server: ServerContext
    let logger: Logger

    func respond(to head: RequestHead) -> IcecastResponse {
        let path = head.path
        let command = path.hasPrefix("/admin/") ? String(path.dropFirst("/admin/".count)) : ""
        switch command {
        case "metadata":
            return updateMetadata(head)
        default:
            return .error(400, "Unrecognised command")
        }
    }

    /// `/admin/metadata?mount=…&mode=updinfo&song=…` (or `artist`/`title`, `charset`), with admin credentials
    /// or the mount's source credentials.
    private func updateMetadata(_ head: RequestHead) -> IcecastResponse {
        let configuration = server.configuration
        let query = head.queryItems
        func value(_ name: String) -> [UInt8]? { query.first { $0.name == name }?.value }
        guard let mountBytes = value("mount") else { return .error(400, "Missing parameter") }
        let path = String(decoding: mountBytes, as: UTF8.self)
        guard isAuthorised(head, forMount: path, configuration: configuration) else { return .error(401, "") }
        guard let mount = server.mounts.mount(path), case .live = mount.snapshot.source else {
            return .error(400, "Source does not exist")
        }
        guard let mode = value("mode").map({ String(decoding: $0, as: UTF8.self) }) else {
            return .error(400, "Missing parameter")
        }
        guard mode == "updinfo" else { return Self.xmlResponse(message: "No such action", success: false) }
        let charset = value("charset").map { String(decoding: $0, as: UTF8.self) }
        guard
            let update = MetadataUpdate(
                song: value("song"),
                artist: value("artist"),
                title: value("title"),
                charset: charset,
                defaultCharset: configuration.mount(path).charset
            )
        else { return .error(400, "Missing parameter") }
        switch mount.metadataUpdated(update) {
        case .updated:
            logger.info("Metadata on mountpoint \(path) changed to \"\(update.title)\"", metadata: ["mount.path": "\(path)"])
            return Self.xmlResponse(message: "Metadata update successful", success: true)
        case .rejectNoSource:
            return .error(400, "Source does not exist")
        case .rejectTooLong:
            logger.warning("Metadata too long", metadata: ["mount.path": "\(path)"])
            return Self.xmlResponse(message: "Metadata too long", success: false)
        }
    }

    /// Admin credentials, or the source credentials of `mount` (Icecast allows both for mount commands).
    private func isAuthorised(_ head: RequestHead, forMount mount: String, configuration: ServerConfiguration) -> Bool {
        guard let credentials = head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)) else {
            return false
        }
        let authentication = configuration.authentication
        if let adminPassword = authentication.adminPassword,
            credentials.matches(user: authentication.adminUser, password: adminPassword)
        {
            return true
        }
        let mountConfiguration = configuration.mount(mount)
        if let sourcePassword = mountConfiguration.password ?? authentication.sourcePassword {
            return credentials.matches(
                user: mountConfiguration.username ?? authentication.sourceUser,
                password: sourcePassword
            )
        }
        return false
    }

    /// Icecast's `<iceresponse>` document.
    static func xmlResponse(message: String, success: Bool) -> IcecastResponse {
        let body = "<?xml version=\"1.0\"?>\n<iceresponse><message>\(XML.escape(message))</message>"
            + "<return>\(success ? 1 : 0)</return></iceresponse>\n"
        return IcecastResponse(status: 200, contentType: "text/xml; charset=utf-8", body: Array(body.utf8))
    }
}

/// Escaping for text placed in XML and HTML.
enum XML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
