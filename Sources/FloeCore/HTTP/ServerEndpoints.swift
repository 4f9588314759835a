/// The paths the server answers itself, which no source or master may take as a mount: the admin API and page
/// (`/admin`, `/admin/…`, `/admin.cgi`, `/admin.js`, `/admin.html`), the web page's own files (`/floe.js`,
/// `/floe.css`, `/index.html`), `/metrics`, the status documents and SDP files.
///
/// A live mount is served before the server's own routes and web-root files (Icecast's order), so a source at
/// `/admin.js` with `Content-Type: text/javascript` ran its script inside the admin page, read the admin token and
/// killed sources (found by a probe). A mount the operator configures at such a path is the operator's choice.
public enum ServerEndpoints {
    public static func isReserved(_ path: String) -> Bool {
        let lowered = path.lowercased()
        if lowered == "/admin" || ["/admin/", "/admin.", "/floe."].contains(where: lowered.hasPrefix) { return true }
        return ["/metrics", "/status.xsl", "/status-json.xsl", "/index.html"].contains(lowered) || lowered.hasSuffix(".sdp")
    }
}
