import FloeCore

/// Public, unauthenticated views of the server: `/status-json.xsl` and per-mount playlists (`.m3u`, `.pls`,
/// `.xspf`, `.vclt`), as Icecast 2.4 serves them (and `.pls`, which Icecast lacks).
struct PublicStatusResponder: Responder {
    let server: ServerContext

    /// Playlist suffixes: `/live.m3u` is `/live`'s playlist.
    static let playlistSuffixes = [".m3u", ".pls", ".xspf", ".vclt"]

    /// Whether `path` names one of these views (the router's test; a live mount of that name goes first).
    static func handles(_ path: String) -> Bool {
        path == "/metrics" || path == "/status.xsl" || path == "/status-json.xsl" || path.hasSuffix(".sdp")
            || playlistSuffixes.contains { path.hasSuffix($0) }
    }

    /// The view; when there is none (a playlist of a mount without a source, an SDP without an RTP output), the
    /// request is a listener's after all, as in Icecast: a fallback may serve it, else a web-root file or 404.
    func respond(to request: Request, on connection: Connection) {
        if request.path == "/metrics", !mayReadMetrics(request) {
            connection.respondAndClose(.error(401, ""))
            return
        }
        if let response = response(to: request.head, configuration: request.configuration, isTLS: request.isTLS) {
            connection.respondAndClose(response)
        } else {
            ListenerResponder(server: server).respond(to: request, on: connection)
        }
    }

    /// `metrics-access`: anyone, admin credentials, or (the default) clients on this machine and admins.
    private func mayReadMetrics(_ request: Request) -> Bool {
        switch request.configuration.metricsAccess {
        case .public:
            return true
        case .admin:
            return AdminResponder.hasAdminCredentials(request.head, configuration: request.configuration)
        case .local:
            return Self.isLoopback(request.peer)
                || AdminResponder.hasAdminCredentials(request.head, configuration: request.configuration)
        }
    }

    /// `127.0.0.0/8`, `::1`, or an IPv4-mapped loopback address.
    static func isLoopback(_ address: String) -> Bool {
        address == "::1" || address.hasPrefix("127.") || address.hasPrefix("::ffff:127.")
    }

    /// The response for `head`, or `nil` when the path is not one of these views.
    /// `isTLS`: the request came over TLS, so playlists point at `https`.
    func response(to head: RequestHead, configuration: ServerConfiguration, isTLS: Bool) -> IcecastResponse? {
        let path = head.path
        if path == "/metrics" {
            let text = server.metrics.render(mounts: server.mounts.all, speakers: server.speakers.all)
            return IcecastResponse(
                status: 200,
                contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: Array(text.utf8)
            )
        }
        if path == "/status.xsl" {
            let document = StatusBuilder(server: server, configuration: configuration).document()
            return IcecastResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(statusPage(document).utf8))
        }
        if path == "/status-json.xsl" {
            let document = StatusBuilder(server: server, configuration: configuration).document()
            return IcecastResponse(
                status: 200,
                contentType: "application/json; charset=UTF-8",
                // Web players on other sites read it (unless the configuration already sets the header).
                extraHeaders: configuration.httpHeaders.contains { $0.name.lowercased() == "access-control-allow-origin" }
                    ? [] : ["Access-Control-Allow-Origin: *"],
                body: Array(document.statusJSON().utf8)
            )
        }
        if path.hasSuffix(".sdp") {
            return sessionDescription(mountPath: String(path.dropLast(4)), output: head.queryValue("output"))
        }
        for suffix in Self.playlistSuffixes where path.hasSuffix(suffix) {
            let mountPath = String(path.dropLast(suffix.count))
            return playlist(suffix, mountPath: mountPath, head: head, configuration: configuration, isTLS: isTLS)
        }
        return nil
    }

    /// The SDP of a mount's RTP output (`/live.sdp`, the first; `/live.sdp?output=NAME`, that one), for ffplay,
    /// VLC or GStreamer to open. Available whether or not a source is live: the session exists as configured.
    private func sessionDescription(mountPath: String, output name: String?) -> IcecastResponse? {
        let outputs = server.speakers.speakers(of: mountPath).filter { $0.sessionDescription != nil }
        guard !outputs.isEmpty else { return nil }
        guard let speaker = name.map({ name in outputs.first { $0.configuration.name == name } }) ?? outputs.first else {
            let names = outputs.map(\.configuration.name).joined(separator: ", ")
            return .error(404, "No RTP output of \(mountPath) is called \(name ?? ""); its RTP outputs: \(names)")
        }
        return IcecastResponse(
            status: 200,
            contentType: "application/sdp",
            body: Array(speaker.sessionDescription!.text.utf8)
        )
    }

    private func playlist(
        _ kind: String,
        mountPath: String,
        head: RequestHead,
        configuration: ServerConfiguration,
        isTLS: Bool
    ) -> IcecastResponse? {
        // `http://<Host header>/<mount>` (`https` for a request over TLS); without a port in Host, the hostname and
        // first port (as Icecast).
        let port = server.publicPort.load(ordering: .relaxed)
        // A Host header that is not a host (markup, quotes, a second line) is not written into the document.
        let host = HostHeader.authority(head["host"], defaultHost: configuration.hostname, defaultPort: port)
        // The path percent-encoded: any path gets a playlist, and a line break in one would be a second entry.
        let url = "\(isTLS ? "https" : "http")://\(host)\(PercentEncoding.encodingPath(mountPath))"
        switch kind {
        case ".m3u":
            return IcecastResponse(status: 200, contentType: "audio/x-mpegurl", body: Array("\(url)\r\n".utf8))
        case ".pls":
            let name = status(mountPath, configuration)?.value("server_name") ?? String(mountPath.dropFirst())
            let body = "[playlist]\nNumberOfEntries=1\nFile1=\(url)\nTitle1=\(Self.oneLine(name))\nLength1=-1\nVersion=2\n"
            return IcecastResponse(status: 200, contentType: "audio/x-scpls", body: Array(body.utf8))
        case ".xspf":
            guard let source = status(mountPath, configuration) else { return nil }
            let annotation = [
                "Stream Title: \(source.value("server_name") ?? "")",
                "Stream Description: \(source.value("server_description") ?? "")",
                "Content Type:\(source.value("server_type") ?? "")",
                "Bitrate: \(source.value("bitrate") ?? "")",
                "Current Listeners: \(source.value("listeners") ?? "0")",
                "Peak Listeners: \(source.value("listener_peak") ?? "0")",
                "Stream Genre: \(source.value("genre") ?? "")",
            ].joined(separator: "\n")
            let body = """
                <?xml version="1.0" encoding="UTF-8"?>
                <playlist xmlns="http://xspf.org/ns/0/" version="1">
                  <title>\(XMLText.escape(source.value("server_name") ?? ""))</title>
                  <trackList>
                    <track>
                      <location>\(XMLText.escape(url))</location>
                      <title>\(XMLText.escape(source.value("title") ?? ""))</title>
                      <annotation>\(XMLText.escape(annotation))</annotation>
                    </track>
                  </trackList>
                </playlist>

                """
            return IcecastResponse(status: 200, contentType: "application/xspf+xml; charset=UTF-8", body: Array(body.utf8))
        case ".vclt":
            guard let source = status(mountPath, configuration) else { return nil }
            let value = { (name: String) in Self.oneLine(source.value(name) ?? "") }
            let body =
                "STREAMURL=\(url)\nSERVER_NAME=\(value("server_name"))\n"
                + "DESCRIPTION=\(value("server_description"))\nSIGNALINFO=\n"
                + "GENRE=\(value("genre"))\n==\n"
            return IcecastResponse(status: 200, contentType: "audio/x-vclt; charset=UTF-8", body: Array(body.utf8))
        default:
            return nil
        }
    }

    /// `text` with each control character (a line break above all) made a space: one line of a `.pls` or `.vclt`.
    static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        return String(scalars)
    }

    /// `/status.xsl`: Icecast's public status page as plain HTML, one block per visible mount; every value from a
    /// source or listener is escaped.
    private func statusPage(_ document: StatusDocument) -> String {
        let rows: [(String, String)] = [
            ("Stream Title", "server_name"), ("Stream Description", "server_description"),
            ("Content Type", "server_type"), ("Stream started", "stream_start"), ("Bitrate", "bitrate"),
            ("Listeners (current)", "listeners"), ("Listeners (peak)", "listener_peak"), ("Genre", "genre"),
            ("Stream URL", "server_url"), ("Currently playing", "title"),
        ]
        var html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Floe Status</title></head>"
        html += "<body>\n<h1>Floe Status</h1>\n"
        for source in document.sources where !source.hidden {
            let mount = XMLText.escape(source.mount)
            html += "<div class=\"mount\"><h2>Mount Point \(mount)</h2>"
            html += "<p><a href=\"\(mount).m3u\">M3U</a> <a href=\"\(mount).xspf\">XSPF</a></p><table>"
            for (label, key) in rows {
                guard var value = source.value(key) else {
                    // No declared bitrate: what Floe measured from the frames.
                    if key == "bitrate", let measured = source.value("floe_measured_bitrate").flatMap(Int.init) {
                        html += "<tr><td>\(label):</td><td class=\"streamstats\">\(measured / 1000) (measured)</td></tr>"
                    }
                    continue
                }
                value = XMLText.escape(value)
                html += "<tr><td>\(label):</td><td class=\"streamstats\">\(value)</td></tr>"
            }
            html += "</table></div>\n"
        }
        return html + "</body></html>\n"
    }

    private func status(_ mountPath: String, _ configuration: ServerConfiguration) -> SourceStatus? {
        server.mounts.mount(mountPath).flatMap { StatusBuilder(server: server, configuration: configuration).source($0) }
    }
}
