import FloeCore
import Foundation

/// The Icecast 2.4 admin commands beyond `metadata`, with Icecast's credentials rules and XML replies:
/// - general commands (`stats`, `listmounts`) need the admin user;
/// - mount commands (`listclients`, `killclient`, `moveclients`, `killsource`) take the admin user or that
///   mount's source credentials, and answer 400 `Source does not exist` for a mount without a source;
/// - `streamlist.txt` needs the relay user.
extension AdminResponder {
    func stats(_ head: RequestHead) -> IcecastResponse {
        guard isAdmin(head) else { return .error(401, "") }
        let document = StatusBuilder(server: server, configuration: configuration).document()
        return wantsJSON ? Self.json(text: document.adminJSON()) : Self.xml(document.statsXML())
    }

    func listMounts(_ head: RequestHead) -> IcecastResponse {
        guard isAdmin(head) else { return .error(401, "") }
        var xml = "<?xml version=\"1.0\"?>\n<icestats>"
        var mounts: [AdminJSON.MountList.Mount] = []
        for mount in server.mounts.all where mount.isLive {
            let state = mount.snapshot
            guard case .live(let live) = state.source else { continue }
            let connected = Int(Date().timeIntervalSince(live.descriptor.connectedAt))
            let fallback = configuration.mount(mount.path).fallbackMount
            mounts.append(
                .init(
                    mount: mount.path,
                    listeners: state.listeners,
                    connected: connected,
                    contentType: live.descriptor.contentType,
                    fallback: Nullable(fallback)
                )
            )
            xml += "<source mount=\"\(XMLText.escape(mount.path))\">"
            xml += "<fallback>\(XMLText.escape(fallback ?? ""))</fallback>"
            xml += "<listeners>\(state.listeners)</listeners><Connected>\(connected)</Connected>"
            xml += "<content-type>\(XMLText.escape(live.descriptor.contentType))</content-type></source>"
        }
        return wantsJSON ? Self.json(AdminJSON.MountList(mounts: mounts)) : Self.xml(xml + "</icestats>\n")
    }

    /// `listclients`: asks each event loop for the mount's listeners (no server-wide table).
    func listClients(_ head: RequestHead) -> AdminAnswer {
        switch liveMount(head) {
        case .failure(let error): return .now(error.response)
        case .success(let mount):
            let wantsJSON = self.wantsJSON
            return .later(
                mount.listenerInfo(on: eventLoop).map { entries in
                    wantsJSON ? Self.listenersJSON(mount.path, entries) : Self.listenersXML(mount.path, entries)
                }
            )
        }
    }

    private static func listenersJSON(_ path: String, _ entries: [ListenerInfo]) -> IcecastResponse {
        json(
            AdminJSON.ListenerList(
                mount: path,
                listeners: entries.map { entry in
                    .init(
                        id: entry.id,
                        ip: entry.peer,
                        userAgent: entry.userAgent ?? "Unknown",
                        connected: Int(Date().timeIntervalSince(entry.connectedAt)),
                        username: Nullable(entry.user)
                    )
                }
            )
        )
    }

    private static func listenersXML(_ path: String, _ entries: [ListenerInfo]) -> IcecastResponse {
        var xml = "<?xml version=\"1.0\"?>\n<icestats><source mount=\"\(XMLText.escape(path))\">"
        xml += "<Listeners>\(entries.count)</Listeners>"
        for entry in entries {
            xml += "<listener><IP>\(XMLText.escape(entry.peer))</IP>"
            xml += "<UserAgent>\(XMLText.escape(entry.userAgent ?? "Unknown"))</UserAgent>"
            xml += "<Connected>\(Int(Date().timeIntervalSince(entry.connectedAt)))</Connected>"
            xml += "<ID>\(entry.id)</ID>"
            if let user = entry.user { xml += "<username>\(XMLText.escape(user))</username>" }
            xml += "</listener>"
        }
        return Self.xml(xml + "</source></icestats>\n")
    }

    /// `killclient`: the listener's own loop closes its connection.
    func killClient(_ head: RequestHead) -> AdminAnswer {
        switch liveMount(head) {
        case .failure(let error): return .now(error.response)
        case .success(let mount):
            guard let id = head.queryValue("id").flatMap(Int.init) else { return .now(.error(400, "Missing parameter")) }
            let responder = self
            return .later(
                mount.closeListener(id, on: eventLoop).map { closed in
                    guard closed else { return responder.reply(message: "Client \(id) not found", success: false) }
                    responder.logger.info(
                        "Admin removed a listener",
                        metadata: ["mount.path": "\(mount.path)", "listener.id": "\(id)"]
                    )
                    return responder.reply(message: "Client \(id) removed", success: true)
                }
            )
        }
    }

    func moveClients(_ head: RequestHead) -> IcecastResponse {
        switch liveMount(head) {
        case .failure(let error): return error.response
        case .success(let mount):
            guard let destinationPath = head.queryValue("destination") else { return .error(400, "Missing parameter") }
            guard destinationPath != mount.path else { return .error(400, "supplied mountpoints are identical") }
            guard let destination = server.mounts.mount(destinationPath) else { return .error(400, "No such destination") }
            guard destination.isLive else { return .error(400, "Destination not running") }
            mount.moveAllListeners(to: destination)
            logger.info("Admin moved listeners", metadata: ["mount.path": "\(mount.path)", "destination": "\(destinationPath)"])
            return reply(message: "Clients moved from \(mount.path) to \(destinationPath)", success: true)
        }
    }

    func killSource(_ head: RequestHead) -> IcecastResponse {
        switch liveMount(head) {
        case .failure(let error): return error.response
        case .success(let mount):
            mount.closeSource()
            logger.info("Admin removed the source", metadata: ["mount.path": "\(mount.path)"])
            return reply(message: "Source Removed", success: true)
        }
    }

    /// `/admin/streamlist.txt`: every visible live mount, one per line, for master/slave relaying.
    func streamList(_ head: RequestHead) -> IcecastResponse {
        let authentication = configuration.authentication
        guard let credentials = head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)),
            let password = authentication.relayPassword,
            credentials.matches(user: authentication.relayUser, password: password)
        else { return .error(401, "") }
        let visible = server.mounts.all.filter { $0.isLive && !configuration.mount($0.path).hidden }
        if wantsJSON {
            return Self.json(AdminJSON.StreamList(mounts: visible.map(\.path)))
        }
        let lines = visible.map { $0.path + "\r\n" }
        return IcecastResponse(status: 200, contentType: "text/plain", body: Array(lines.joined().utf8))
    }

    // MARK: Helpers

    func isAdmin(_ head: RequestHead) -> Bool {
        Self.hasAdminCredentials(head, configuration: configuration)
    }

    /// Whether `head` carries the admin user's credentials.
    static func hasAdminCredentials(_ head: RequestHead, configuration: ServerConfiguration) -> Bool {
        let authentication = configuration.authentication
        guard let credentials = head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)),
            let password = authentication.adminPassword
        else { return false }
        return credentials.matches(user: authentication.adminUser, password: password)
    }

    /// The `mount` parameter's mount, after checking credentials (admin or that mount's source) and that a
    /// source feeds it.
    func liveMount(_ head: RequestHead, titleUpdate: Bool = false) -> Result<Mount, ResponseError> {
        guard let path = head.queryValue("mount") else { return .failure(.init(.error(400, "Missing parameter"))) }
        guard isAuthorised(head, forMount: path, configuration: configuration, titleUpdate: titleUpdate) else {
            return .failure(.init(.error(401, "")))
        }
        guard let mount = server.mounts.mount(path), mount.isLive else {
            return .failure(.init(.error(400, "Source does not exist")))
        }
        return .success(mount)
    }

    /// An admin response carried as an error, so helpers can return either a mount or the reply to send.
    struct ResponseError: Error {
        var response: IcecastResponse
        init(_ response: IcecastResponse) { self.response = response }
    }

    /// `value` encoded by `JSONEncoder`.
    static func json(_ value: some Encodable) -> IcecastResponse {
        json(text: FloeJSON.encode(value))
    }

    /// A JSON document already encoded (by `FloeJSON`).
    static func json(text document: String) -> IcecastResponse {
        IcecastResponse(status: 200, contentType: "application/json; charset=utf-8", body: Array(document.utf8))
    }

    static func xml(_ document: String) -> IcecastResponse {
        IcecastResponse(status: 200, contentType: "text/xml; charset=utf-8", body: Array(document.utf8))
    }
}

extension AdminResponder {
    /// `/admin/fallbacks?mount=&fallback=`: changes a live mount's fallback until the next reload.
    func setFallback(_ head: RequestHead) -> IcecastResponse {
        switch liveMount(head) {
        case .failure(let error): return error.response
        case .success(let mount):
            guard let fallback = head.queryValue("fallback") else { return .error(400, "Missing parameter") }
            func withFallback(_ configuration: inout ServerConfiguration) {
                var mountConfiguration = configuration.mount(mount.path)
                mountConfiguration.fallbackMount = fallback.isEmpty ? nil : fallback
                configuration.mounts[mount.path] = mountConfiguration
            }
            // Checked as a loaded file would be: a fallback to itself or a loop is refused, as `check-config` does
            // (the command took them; found by a probe).
            var candidate = configuration
            withFallback(&candidate)
            do {
                _ = try ConfigurationValidator.validate(candidate) { _, option in .init(file: "fallbacks", line: nil, option: option) }
            } catch {
                return .error(400, error.message)
            }
            server.updateConfiguration(withFallback)
            logger.info("Admin set the fallback", metadata: ["mount.path": "\(mount.path)", "fallback.path": "\(fallback)"])
            if wantsJSON { return reply(message: "Fallback configured", success: true) }
            let html = "<html><head><title>Admin request successful</title></head><body><p>Fallback configured</p></body></html>"
            return IcecastResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
        }
    }

    /// `/admin/updatemetadata?mount=`: the (empty) tree Icecast's title form is built on.
    func updateMetadataForm(_ head: RequestHead) -> IcecastResponse {
        switch liveMount(head, titleUpdate: true) {
        case .failure(let error): return error.response
        case .success(let mount):
            if wantsJSON { return Self.json(AdminJSON.Mount(mount: mount.path)) }
            return Self.xml("<?xml version=\"1.0\"?>\n<icestats><source mount=\"\(XMLText.escape(mount.path))\"/></icestats>\n")
        }
    }

    /// `/admin/buildm3u?mount=&username=&password=`: a playlist with the listener's credentials in the URL. No
    /// authentication, as in Icecast. Icecast 2.4 sends a malformed `Content-Disposition = …` line that strict
    /// clients (curl) reject; Floe sends the header well-formed.
    func buildM3U(_ head: RequestHead) -> IcecastResponse {
        guard let path = head.queryValue("mount") else { return .error(400, "Missing parameter") }
        let user = head.queryValue("username") ?? ""
        let password = head.queryValue("password") ?? ""
        let port = server.publicPort.load(ordering: .relaxed)
        // A Host header that is not a host (markup, quotes, a second line) is not written into the document.
        let host = HostHeader.authority(head["host"], defaultHost: configuration.hostname, defaultPort: port)
        // Every part from the query percent-encoded: anyone may ask, and a line break would add an entry.
        let credentials = user.isEmpty ? "" : "\(PercentEncoding.encoding(user)):\(PercentEncoding.encoding(password))@"
        let url = "\(scheme)://\(credentials)\(host)\(PercentEncoding.encodingPath(path))"
        if wantsJSON { return Self.json(AdminJSON.PlaylistURL(url: url)) }
        return IcecastResponse(
            status: 200,
            contentType: "audio/x-mpegurl",
            extraHeaders: ["Content-Disposition: attachment; filename=listen.m3u"],
            body: Array("\(url)\r\n".utf8)
        )
    }

    /// `/admin/manageauth?mount=&action=list|add|delete&username=&password=` for a mount with htpasswd
    /// listener authentication.
    func manageAuth(_ head: RequestHead) -> IcecastResponse {
        switch liveMount(head) {
        case .failure(let error): return error.response
        case .success(let mount):
            guard case .htpasswd(let options) = configuration.mount(mount.path).listenerAuthentication else {
                return reply(message: "No htpasswd authentication on this mount", success: false)
            }
            let file = options.filename
            let action = head.queryValue("action") ?? "list"
            let user = head.queryValue("username")
            let password = head.queryValue("password")
            switch action {
            case "add":
                guard let user, password != nil, !user.isEmpty else { return .error(400, "missing parameter") }
                // A user name is one field of one line of the file: no colon, no line break (the file is split on
                // every Unicode one: U+0085 and U+2028 too) and no other control character.
                guard !user.contains(":"), !user.contains(where: \.isNewline),
                    !user.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                else {
                    return .error(400, "invalid username")
                }
            case "delete":
                guard user != nil else { return .error(400, "missing parameter") }
            default:
                break
            }
            var message: String?
            let lines: [String]
            do {
                lines = try server.htpasswd.edit(at: file) { lines in
                    switch action {
                    case "add":
                        guard let user, let password else { return false }
                        if HTPasswd(contents: lines.joined(separator: "\n")).users[user] != nil {
                            message = "User already exists - not added"
                            return false
                        }
                        lines.append(HTPasswd.line(user: user, password: password))
                        message = "User added"
                        return true
                    case "delete":
                        guard let user else { return false }
                        lines.removeAll { $0.hasPrefix(user + ":") }
                        message = "User deleted"
                        return true
                    default:
                        return false
                    }
                }
            } catch {
                logger.error("Cannot update the htpasswd file", metadata: ["file": "\(file)", "error": "\(error.reason)"])
                let failed = action == "add" ? "User add failed" : action == "delete" ? "User delete failed" : "Cannot read users"
                return reply(message: failed + " - check the icecast error log", success: false)
            }
            let users = HTPasswd(contents: lines.joined(separator: "\n")).users.keys.sorted()
            if wantsJSON {
                return Self.json(AdminJSON.Users(mount: mount.path, users: users, message: Nullable(message)))
            }
            var xml = "<?xml version=\"1.0\"?>\n<icestats><source mount=\"\(XMLText.escape(mount.path))\">"
            for user in users { xml += "<User><username>\(XMLText.escape(user))</username></User>" }
            xml += "</source>"
            if let message { xml += "<iceresponse><message>\(XMLText.escape(message))</message></iceresponse>" }
            return Self.xml(xml + "</icestats>\n")
        }
    }

}

extension AdminResponder {
    /// `/admin/config`: the effective configuration as JSON, passwords redacted (admin only).
    func effectiveConfiguration(_ head: RequestHead) -> IcecastResponse {
        guard isAdmin(head) else { return .error(401, "") }
        return Self.json(text: configuration.effectiveJSON())
    }

    /// `/admin/history`: listener counts per mount over the last hour (admin only).
    func listenerHistory(_ head: RequestHead) -> IcecastResponse {
        guard isAdmin(head) else { return .error(401, "") }
        return Self.json(AdminJSON.History(interval: Int(ListenerHistory.interval), mounts: server.history.series))
    }

    /// `/admin/outputs`: every speaker and FEC output, with or without a source on its mount (admin only, JSON):
    /// its mount, the mount it plays now (its own or a fallback), and the figures status pages show for it.
    func listOutputs(_ head: RequestHead) -> IcecastResponse {
        guard isAdmin(head) else { return .error(401, "") }
        let builder = StatusBuilder(server: server, configuration: configuration)
        let outputs = server.speakers.all.map { speaker -> JSONValue in
            var members = StatusDocument.object(builder.outputFields(speaker))
            members["mount"] = .string(speaker.homePath)
            members["name"] = .string(speaker.configuration.name)
            members["playing"] = speaker.currentMountPath.map(JSONValue.string) ?? .null
            return .object(members)
        }
        return Self.json(JSONValue.object(["outputs": .array(outputs)]))
    }

    /// `/admin/token`: the token the admin page sends with state-changing commands (admin only).
    func adminToken(_ head: RequestHead) -> IcecastResponse {
        guard isAdmin(head) else { return .error(401, "") }
        return Self.json(AdminJSON.Token(token: server.adminToken))
    }

    /// `/admin/`: the admin page (web root `admin.html`), behind admin credentials so the browser asks for them
    /// once and sends them with the page's API calls. `respond` streams it for an admin; others get 401 here.
    func adminPage(_ head: RequestHead) -> IcecastResponse {
        .error(401, "")
    }
}
