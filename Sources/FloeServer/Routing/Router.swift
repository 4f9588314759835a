import FloeCore
import NIOCore

/// Where requests go: a table from method and path to a responder, built once per server and looked up in order
/// for each request. A new kind of request (HLS playlists, a relay's status) is a new responder and one row here.
///
/// ```
///  method          path                                   responder
///  SOURCE, PUT     any                                    SourceResponder       (source login, then ingest)
///  GET, HEAD       /admin, /admin/…, /admin.cgi           AdminResponder        (Icecast's admin API, the admin page)
///  GET, HEAD       /status-json.xsl, /metrics, X.m3u …    PublicStatusResponder (unless a live mount has that name)
///  GET, HEAD       X.m3u8, X.hls/<id>-<n>[.<part>].ts|mp3 HLSResponder          (unless a live mount has that name)
///  GET, HEAD       any                                    ListenerResponder     (a mount; else a web-root file)
///  OPTIONS         any                                    OptionsResponder      (CORS preflight, libshout's probe)
///  other           any                                    405
/// ```
struct Router: Sendable {
    /// Which requests a route takes.
    struct Route: Sendable {
        /// Methods it takes; empty takes any.
        var methods: Set<String>
        var matches: @Sendable (Request) -> Bool
        var responder: any Responder
    }

    let routes: [Route]
    /// For a method no route takes.
    let methodNotAllowed: any Responder

    init(server: ServerContext, eventLoop: EventLoop) {
        let listening: Set = ["GET", "HEAD"]
        routes = [
            Route(methods: ["SOURCE", "PUT"], matches: { _ in true }, responder: SourceResponder(server: server)),
            Route(methods: listening, matches: { AdminResponder.handles($0.path) }, responder: AdminResponder(server: server, eventLoop: eventLoop)),
            Route(
                methods: listening,
                // A live mount called `/metrics` or `/x.m3u` is a mount first, as in Icecast.
                matches: { PublicStatusResponder.handles($0.path) && server.mounts.mount($0.path)?.isLive != true },
                responder: PublicStatusResponder(server: server)
            ),
            Route(
                methods: listening,
                matches: { HLSResponder.handles($0.path) && server.mounts.mount($0.path)?.isLive != true },
                responder: HLSResponder(server: server)
            ),
            Route(methods: listening, matches: { _ in true }, responder: ListenerResponder(server: server)),
            Route(methods: ["OPTIONS"], matches: { _ in true }, responder: OptionsResponder()),
        ]
        methodNotAllowed = MethodNotAllowedResponder()
    }

    /// The responder for `request`: the first route that takes it.
    func responder(for request: Request) -> any Responder {
        for route in routes where route.methods.isEmpty || route.methods.contains(request.method) {
            if route.matches(request) { return route.responder }
        }
        return methodNotAllowed
    }
}

/// CORS preflight (browsers asking to send `Icy-MetaData`) and libshout's `OPTIONS *` TLS probe: 204 with the CORS
/// headers. No `Allow:` header: libshout changes protocol according to it.
struct OptionsResponder: Responder {
    func respond(to request: Request, on connection: Connection) {
        var response = IcecastResponse(status: 204, contentType: nil)
        response.extraHeaders = IcecastResponse.corsHeaders(alreadyConfigured: request.configuration.httpHeaders)
        connection.respondAndClose(response)
    }
}

/// 405 with the methods Floe takes.
struct MethodNotAllowedResponder: Responder {
    func respond(to request: Request, on connection: Connection) {
        var response = IcecastResponse.error(405, "Method not allowed")
        response.extraHeaders = ["Allow: GET, HEAD, OPTIONS, SOURCE, PUT"]
        connection.respondAndClose(response)
    }
}
