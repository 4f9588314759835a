import FloeCore
import Foundation
import NIOCore

/// Logs a source in (`SOURCE` or `PUT`) as Icecast 2.4 does and turns the connection into an ingest pipeline.
///
/// Checks in Icecast's order: mount name, credentials (401), `Content-Type` on PUT (403), the `<sources>`
/// limit (403 `too many sources connected`), a busy mount (403 `Mountpoint in use`). Only then the exact
/// `HTTP/1.0 200 OK\r\n\r\n` (after `100 Continue` when the client asked for it). Audio that arrived with
/// the head is forwarded to the ingest handler, not lost.
struct SourceResponder: Responder {
    let server: ServerContext

    func respond(to request: Request, on connection: Connection) {
        let configuration = request.configuration
        let head = request.head
        let path = head.path
        let logger = request.logger
        guard MountPath.isValid(path, configuration: configuration) else {
            connection.respondAndClose(.error(400, "Invalid mountpoint"))
            return
        }
        guard configuration.mounts[path] != nil || !ServerEndpoints.isReserved(path) else {
            logger.warning("Source login refused: the server's own path", metadata: ["mount.path": "\(path)"])
            connection.respondAndClose(.error(403, "Mountpoint reserved by the server"))
            return
        }
        let mountConfiguration = configuration.mount(path)
        let user = mountConfiguration.username ?? configuration.authentication.sourceUser
        guard let password = mountConfiguration.password ?? configuration.authentication.sourcePassword,
            let credentials = head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:)),
            credentials.matches(user: user, password: password)
        else {
            if head["authorization"] != nil {
                logger.warning("Source login refused: wrong credentials", metadata: ["mount.path": "\(path)"])
            }
            connection.respondAndClose(.error(401, ""))
            return
        }
        if head.method == "PUT", head["content-type"] == nil {
            connection.respondAndClose(.error(403, "No Content-type given"))
            return
        }
        if head["content-type"] == nil {
            logger.error("Source on \(path) sent no Content-Type; assuming MP3 (this is deprecated)")
        }
        let descriptor = SourceDescriptor(
            contentType: head["content-type"],
            headers: head.headers,
            peerAddress: request.peer,
            connectedAt: Date()
        )
        let login = SourceLogin(
            server: server,
            configuration: configuration,
            path: path,
            sourceID: request.connectionID,
            logger: logger
        )
        let mount: Mount
        switch login.claim(descriptor) {
        case .success(let claimed):
            mount = claimed
        case .failure(.tooManySources):
            connection.respondAndClose(.error(403, "too many sources connected"))
            return
        case .failure(.mountInUse):
            connection.respondAndClose(.error(403, "Mountpoint in use"))
            return
        }
        let record = connection.accessRecord(status: 200, bytes: IcecastResponse.sourceAccepted.utf8.count)
        // A PUT body sent in chunks (curl from a pipe): the chunk framing is not audio.
        let chunked = head["transfer-encoding"]?.lowercased().contains("chunked") == true
        guard
            login.installIngest(
                context: connection.context,
                after: connection.handler,
                mount: mount,
                descriptor: descriptor,
                peer: request.peer,
                accessRecord: record,
                chunked: chunked
            )
        else { return }

        var reply = ByteBufferAllocator().buffer(capacity: 64)
        if head["expect"]?.lowercased() == "100-continue" {
            reply.writeString(IcecastResponse.continueInterim)
        }
        reply.writeString(IcecastResponse.sourceAccepted)
        connection.channel.writeAndFlush(reply, promise: nil)
        connection.handOver(forwarding: request.leftover)
    }
}

/// Rules for mount names.
enum MountPath {
    /// A mount is one the configuration names (as a mount or a relay's local mount: icecast.xml, like Icecast,
    /// takes `/my stream`), or a path a native configuration's mount could have (`ConfigurationValidator.pathProblem`):
    /// absolute, with no empty first segment (Icecast closes on `//x` or `x`), no `..` segment, no whitespace,
    /// control character, `?` or `#`. A line break in a source's mount name once became a second line of
    /// `streamlist.txt`, which slaves relay (found by a probe).
    static func isValid(_ path: String, configuration: ServerConfiguration) -> Bool {
        if configuration.mounts[path] != nil || configuration.relay.relays.contains(where: { $0.localMount == path }) {
            return true
        }
        return path.count > 1 && ConfigurationValidator.pathProblem(path) == nil
    }
}
