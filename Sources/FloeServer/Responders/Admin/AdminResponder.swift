import FloeCore
import Logging
import NIOCore

/// Answers `/admin/*` requests with Icecast 2.4's commands and XML replies. An unknown command gets Icecast's
/// 400 `Unrecognised command` — which is also the reply libshout's `GET /admin/!POKE` capability probe needs:
/// on no reply at all, libshout assumes TLS and fails.
///
/// The router holds one; each request works on a copy that carries the request's configuration snapshot, logger
/// and reply format.
struct AdminResponder: Responder {
    let server: ServerContext
    private(set) var logger: Logger
    /// The configuration the request sees (the server's, until a request sets its own).
    private(set) var snapshot: ConfigurationSnapshot?
    /// The socket's `shoutcast-mount`, target of `/admin.cgi`.
    private(set) var shoutcastMount: String? = nil
    /// `https` when the request came over TLS, for the URLs `buildm3u` writes.
    private(set) var scheme = "http"
    /// Beyond Icecast: a JSON reply instead of XML (`Accept: application/json`, or the command with `.json`).
    private(set) var wantsJSON = false
    /// The request's loop: commands that ask every loop (`listclients`, `killclient`) answer on it.
    private(set) var eventLoop: EventLoop

    /// A reply now, or once other event loops have answered.
    enum AdminAnswer {
        case now(IcecastResponse)
        case later(EventLoopFuture<IcecastResponse>)
    }

    init(server: ServerContext, eventLoop: EventLoop) {
        self.server = server
        self.logger = server.logger
        self.eventLoop = eventLoop
    }

    /// Whether `path` belongs to the admin API.
    static func handles(_ path: String) -> Bool {
        path.hasPrefix("/admin/") || path == "/admin" || path == "/admin.cgi"
    }

    var configuration: ServerConfiguration { (snapshot ?? server.snapshot).configuration }

    func respond(to request: Request, on connection: Connection) {
        var responder = self
        responder.logger = request.logger
        responder.snapshot = request.snapshot
        responder.shoutcastMount = request.shoutcastMount
        responder.scheme = request.isTLS ? "https" : "http"
        responder.eventLoop = connection.eventLoop
        let head = request.head
        if responder.isAdminPage(head), responder.isAdmin(head) {
            // The page is a file of the web root, streamed like any other.
            StaticFileResponder.serveFile(
                request.configuration.paths.webroot + "/admin.html",
                for: request,
                on: connection,
                missing: .error(404, "The admin page is not installed (admin.html in the web root)")
            )
            return
        }
        switch responder.answer(to: head) {
        case .now(let response):
            connection.respondAndClose(response)
        case .later(let future):
            connection.awaitAnswer()
            let bound = NIOLoopBound(connection, eventLoop: connection.eventLoop)
            future.whenComplete { result in
                let connection = bound.value
                switch result {
                case .success(let response): connection.respondAndClose(response)
                case .failure: connection.respondAndClose(.error(500, "Internal Server Error"))
                }
            }
        }
    }

    /// `/admin`, `/admin/` and `/admin/index.html`.
    private func isAdminPage(_ head: RequestHead) -> Bool {
        ["/admin", "/admin/", "/admin/index.html"].contains(head.path)
    }

    func answer(to head: RequestHead) -> AdminAnswer {
        let path = head.path
        if path == "/admin.cgi" {
            return .now(updateMetadataShoutcastStyle(head))
        }
        var command = path.hasPrefix("/admin/") ? String(path.dropFirst("/admin/".count)) : ""
        var responder = self
        responder.wantsJSON = head["accept"]?.lowercased().contains("application/json") == true
        if command.hasSuffix(".json") {
            command.removeLast(".json".count)
            responder.wantsJSON = true
        }
        return responder.run(command, head)
    }

    /// Commands that change something. A browser tab on another site must not trigger them with the admin's
    /// remembered credentials (CSRF), so a request that shows it comes from another site must carry the server's
    /// admin token: `Sec-Fetch-Site` other than `same-origin`/`none`, or (from browsers that do not send it) an
    /// `Origin`, or without one a `Referer`, whose host and port are not the ones the request was sent to. Scripts
    /// and tools (curl, Icecast clients) send none of these and keep working as with Icecast.
    static let stateChanging: Set<String> = [
        "metadata", "killclient", "moveclients", "killsource", "fallbacks", "manageauth",
    ]

    func isCrossSite(_ head: RequestHead) -> Bool {
        guard head.queryValue("token") != server.adminToken else { return false }
        if let site = head["sec-fetch-site"]?.lowercased() {
            return site != "same-origin" && site != "none"
        }
        if let origin = head["origin"] {
            return !Self.isSameAuthority(origin, as: head["host"])
        }
        if let referer = head["referer"] {
            return !Self.isSameAuthority(referer, as: head["host"])
        }
        return false
    }

    /// Whether the URL `url` (an `Origin` or `Referer`) points at `host` (the request's `Host`), ports included.
    static func isSameAuthority(_ url: String, as host: String?) -> Bool {
        guard let host = host?.lowercased(), let schemeEnd = url.range(of: "://") else { return false }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }.lowercased()
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        func hostName(_ value: String) -> String {
            guard HostHeader.hasPort(value), let colon = value.lastIndex(of: ":") else { return value }
            return String(value[..<colon])
        }
        // A Host without a port (behind a TLS proxy that keeps Host, the page's https origin has port 443): the
        // host names decide. With ports on both sides, they must match too.
        guard HostHeader.hasPort(host) else { return hostName(authority) == host }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        return (HostHeader.hasPort(authority) ? authority : authority + defaultPort) == host
    }

    private func run(_ command: String, _ head: RequestHead) -> AdminAnswer {
        if Self.stateChanging.contains(command), isCrossSite(head) {
            return .now(.error(403, "Cross-site admin request refused"))
        }
        switch command {
        case "listclients": return listClients(head)
        case "killclient": return killClient(head)
        default: return .now(runNow(command, head))
        }
    }

    private func runNow(_ command: String, _ head: RequestHead) -> IcecastResponse {
        switch command {
        case "metadata": return updateMetadata(head)
        case "stats", "stats.xml": return stats(head)
        case "listmounts", "streamlist": return listMounts(head)
        case "moveclients": return moveClients(head)
        case "killsource": return killSource(head)
        case "streamlist.txt": return streamList(head)
        case "fallbacks": return setFallback(head)
        case "updatemetadata": return updateMetadataForm(head)
        case "buildm3u": return buildM3U(head)
        case "manageauth": return manageAuth(head)
        case "config": return effectiveConfiguration(head)
        case "history": return listenerHistory(head)
        case "outputs": return listOutputs(head)
        case "token": return adminToken(head)
        case "", "index.html": return adminPage(head)
        default: return .error(400, "Unrecognised command")
        }
    }

    /// SHOUTcast's `/admin.cgi?pass=…&mode=updinfo&song=…` for the socket's SHOUTcast mount, answered with
    /// Icecast's HTML page. Also takes `artist`/`title` (libshout with ezstream sends those; Icecast 2.4 drops them
    /// with 400 `Missing parameter`).
    private func updateMetadataShoutcastStyle(_ head: RequestHead) -> IcecastResponse {
        let configuration = self.configuration
        let query = head.queryItems
        func value(_ name: String) -> [UInt8]? { query.first { $0.name == name }?.value }
        guard let pass = value("pass").map({ String(decoding: $0, as: UTF8.self) }) else {
            return .error(400, "missing pass parameter")
        }
        guard let path = shoutcastMount else { return .error(400, "illegal metadata call") }
        let mountConfiguration = configuration.mount(path)
        let sourcePassword = mountConfiguration.password ?? configuration.authentication.sourcePassword
        let adminPassword = configuration.authentication.adminPassword
        let check = BasicCredentials(user: "", password: pass)
        guard sourcePassword.map({ check.matches(user: "", password: $0) }) == true
            || adminPassword.map({ check.matches(user: "", password: $0) }) == true
        else { return .error(401, "") }
        guard value("mode").map({ String(decoding: $0, as: UTF8.self) }) == "updinfo",
            let update = MetadataUpdate(
                song: value("song"),
                artist: value("artist"),
                title: value("title"),
                charset: value("charset").map { String(decoding: $0, as: UTF8.self) },
                defaultCharset: mountConfiguration.charset
            )
        else { return .error(400, "Missing parameter") }
        guard let mount = server.mounts.mount(path) else { return .error(400, "Source does not exist") }
        // The same rule as `/admin/metadata`: a stream whose titles travel in-band keeps them (it overwrote an Ogg
        // Opus stream's own title; found by a probe).
        guard Self.acceptsURLTitles(mount) else { return .error(400, "Mountpoint will not accept URL updates") }
        guard case .updated = mount.metadataUpdated(update) else { return .error(400, "Source does not exist") }
        logger.info("Metadata on mountpoint \(path) changed to \"\(update.title)\"", metadata: ["mount.path": "\(path)"])
        let html = "<html><head><title>Admin request successful</title></head><body><p>Metadata update successful</p></body></html>"
        return IcecastResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
    }

    /// `/admin/metadata?mount=…&mode=updinfo&song=…` (or `artist`/`title`, `charset`), with admin credentials
    /// or the mount's source credentials.
    private func updateMetadata(_ head: RequestHead) -> IcecastResponse {
        let configuration = self.configuration
        let query = head.queryItems
        func value(_ name: String) -> [UInt8]? { query.first { $0.name == name }?.value }
        guard let mountBytes = value("mount") else { return .error(400, "Missing parameter") }
        let path = String(decoding: mountBytes, as: UTF8.self)
        guard isAuthorised(head, forMount: path, configuration: configuration, titleUpdate: true) else {
            return .error(401, "")
        }
        guard let mount = server.mounts.mount(path), case .live = mount.snapshot.source else {
            return .error(400, "Source does not exist")
        }
        guard let mode = value("mode").map({ String(decoding: $0, as: UTF8.self) }) else {
            return .error(400, "Missing parameter")
        }
        guard mode == "updinfo" else { return reply(message: "No such action", success: false) }
        if !Self.acceptsURLTitles(mount) {
            return reply(message: "Mountpoint will not accept URL updates", success: true)
        }
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
            return reply(message: "Metadata update successful", success: true)
        case .rejectNoSource:
            return .error(400, "Source does not exist")
        case .rejectTooLong:
            logger.warning("Metadata too long", metadata: ["mount.path": "\(path)"])
            return reply(message: "Metadata too long", success: false)
        }
    }

    /// Whether `/admin/metadata` may set the mount's title, as in Icecast 2.4: not for a stream whose titles travel
    /// in-band only (Ogg Opus, Ogg FLAC, WebM); Ogg Vorbis does take them (Floe shows them in status and to ICY
    /// listeners; unlike Icecast it does not rewrite the stream's own comment header).
    static func acceptsURLTitles(_ mount: Mount) -> Bool {
        guard case .live(let source) = mount.snapshot.source else { return true }
        switch source.descriptor.format {
        case .mpeg, .aac: return true
        case .ogg: return mount.statistics?.codec == OggStreamTags.Codec.vorbis.rawValue
        case .webm: return false
        case .passthrough(let allowsICYMetadata): return allowsICYMetadata
        }
    }

    /// Admin credentials, or the source credentials of `mount` (Icecast allows both for mount commands; with
    /// `source-credentials: metadata-only`, source credentials count for title updates only).
    func isAuthorised(
        _ head: RequestHead,
        forMount mount: String,
        configuration: ServerConfiguration,
        titleUpdate: Bool = false
    ) -> Bool {
        guard let credentials = head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)) else {
            return false
        }
        let authentication = configuration.authentication
        if let adminPassword = authentication.adminPassword,
            credentials.matches(user: authentication.adminUser, password: adminPassword)
        {
            return true
        }
        guard titleUpdate || configuration.sourceCredentials == .mountAdmin else { return false }
        let mountConfiguration = configuration.mount(mount)
        if let sourcePassword = mountConfiguration.password ?? authentication.sourcePassword {
            return credentials.matches(
                user: mountConfiguration.username ?? authentication.sourceUser,
                password: sourcePassword
            )
        }
        return false
    }

    /// Icecast's `<iceresponse>` document, or `{"message":…,"return":1}` for JSON callers.
    func reply(message: String, success: Bool) -> IcecastResponse {
        guard !wantsJSON else {
            return Self.json(AdminJSON.Reply(message: message, return: success ? 1 : 0))
        }
        return Self.xmlResponse(message: message, success: success)
    }

    /// Icecast's `<iceresponse>` document.
    static func xmlResponse(message: String, success: Bool) -> IcecastResponse {
        let body = "<?xml version=\"1.0\"?>\n<iceresponse><message>\(XMLText.escape(message))</message>"
            + "<return>\(success ? 1 : 0)</return></iceresponse>\n"
        return IcecastResponse(status: 200, contentType: "text/xml; charset=utf-8", body: Array(body.utf8))
    }
}
