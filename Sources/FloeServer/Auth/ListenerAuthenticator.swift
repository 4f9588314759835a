import FloeCore
import Foundation
import Logging
import NIOCore

/// Decides whether a listener may hear a mount that asks for authentication (Icecast `<authentication>` in a
/// `<mount>`): credentials come only from `Authorization: Basic`, as in Icecast.
///
/// - htpasswd: the file is parsed once and read again only when it changes (`HTPasswdStore`), so an edit by an
///   operator or `/admin/manageauth` counts for the next listener; with `allowDuplicateUsers` off, a user already
///   listening is refused.
/// - url: `action=listener_add&server=&port=&client=&mount=&user=&pass=&ip=&agent=` is POSTed to the service,
///   which admits the listener by answering with the configured header (`icecast-auth-user: 1`) and may limit its
///   time (`icecast-auth-timelimit: <seconds>`). When the listener leaves, `action=listener_remove` with
///   `duration=` is POSTed to `listener_remove`, if set.
struct ListenerAuthenticator {
    let server: ServerContext
    let logger: Logger

    enum Outcome: Sendable {
        /// Let the listener in; `timeLimit` in seconds from the auth service, if any.
        case allowed(user: String?, timeLimit: Double?)
        case denied
    }

    /// Facts about the request the auth service is told.
    struct Request: Sendable {
        var mountPath: String
        var uri: String
        var connectionID: Int
        var peer: String
        var userAgent: String?
        var credentials: BasicCredentials?
        var forwardedHeaders: [(name: String, value: String)]
    }

    func authenticate(
        _ request: Request,
        method: ListenerAuthentication,
        configuration: ServerConfiguration,
        on eventLoop: EventLoop
    ) -> EventLoopFuture<Outcome> {
        switch method {
        case .htpasswd(let options):
            return eventLoop.makeSucceededFuture(checkFile(request, options: options, configuration: configuration))
        case .url(let options):
            guard let add = options.listenerAdd else {
                // Icecast admits everyone when no listener_add URL is set.
                return eventLoop.makeSucceededFuture(.allowed(user: request.credentials?.user, timeLimit: nil))
            }
            let form = fields(request, action: "listener_add", options: options, configuration: configuration)
            return URLAuthClient.post(
                url: add, form: form, credentials: serviceCredentials(options), caFile: configuration.httpClientCAFile,
                on: eventLoop
            )
                .map { reply -> Outcome in
                    guard reply.contains(line: options.authHeader) else {
                        logger.info(
                            "Listener refused by the auth service",
                            metadata: ["mount.path": "\(request.mountPath)", "auth.message": "\(reply.value(of: "icecast-auth-message") ?? "-")"]
                        )
                        return .denied
                    }
                    let limit = reply.value(of: options.timelimitHeader).flatMap(Double.init)
                    return .allowed(user: request.credentials?.user, timeLimit: limit)
                }
                .recover { error in
                    logger.warning("Auth service unreachable; listener refused", metadata: ["error": "\(error)"])
                    return .denied
                }
        }
    }

    /// Tells the auth service that a listener left (fire and forget).
    func listenerLeft(
        _ request: Request,
        options: URLAuthenticationOptions,
        connectedSeconds: Int,
        configuration: ServerConfiguration,
        on eventLoop: EventLoop
    ) {
        guard let remove = options.listenerRemove else { return }
        var form = fields(request, action: "listener_remove", options: options, configuration: configuration)
        form.append(("duration", "\(connectedSeconds)"))
        _ = URLAuthClient.post(
            url: remove, form: form, credentials: serviceCredentials(options), caFile: configuration.httpClientCAFile,
            on: eventLoop
        )
    }

    private func checkFile(_ request: Request, options: HTPasswdOptions, configuration: ServerConfiguration) -> Outcome {
        guard let credentials = request.credentials else { return .denied }
        // As given (relative to the working directory), never under the web root: that is served to anyone.
        let path = options.filename
        let file: HTPasswd
        do {
            file = try server.htpasswd.file(at: path)
        } catch {
            logger.error("htpasswd file cannot be read; listener refused", metadata: ["file": "\(path)", "error": "\(error.reason)"])
            return .denied
        }
        guard file.verify(user: credentials.user, password: credentials.password) else {
            return .denied
        }
        if !options.allowDuplicateUsers, !server.listenerUsers.claim(credentials.user, mount: request.mountPath) {
            return .denied
        }
        return .allowed(user: credentials.user, timeLimit: nil)
    }

    private func fields(
        _ request: Request,
        action: String,
        options: URLAuthenticationOptions,
        configuration: ServerConfiguration
    ) -> [(name: String, value: String)] {
        var form: [(name: String, value: String)] = [
            ("action", action),
            ("server", configuration.hostname),
            ("port", "\(configuration.listenSockets.first?.port ?? 8000)"),
            ("client", "\(request.connectionID)"),
            ("mount", request.uri),
            ("user", request.credentials?.user ?? ""),
            ("pass", request.credentials?.password ?? ""),
            ("ip", request.peer),
            ("agent", request.userAgent ?? ""),
        ]
        for (name, value) in request.forwardedHeaders {
            form.append((options.headerPrefix + name, value))
        }
        return form
    }

    private func serviceCredentials(_ options: URLAuthenticationOptions) -> BasicCredentials? {
        guard let user = options.username else { return nil }
        return BasicCredentials(user: user, password: options.password ?? "")
    }
}
