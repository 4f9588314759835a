import FloeCore
import NIOCore

/// HLS requests: a mount's playlist (`/live.m3u8`), its segments and parts (`/live.hls/<id>-<n>[.<part>].ts`, or
/// `.mp3` or `.aac` for packed audio).
///
/// ```
///  playlist   200 application/vnd.apple.mpegurl    max-age ≤ half a part (or segment)
///             ?_HLS_msn=N[&_HLS_part=P]            waits on the event loop until that segment or part exists,
///                                                  at most three target durations (then 503); 400 when N is
///                                                  more than two segments ahead, or not a number
///  segment    200 video/mp2t (packed: audio/mpeg, audio/aac)   immutable: cached for a day, strong ETag; 304 for If-None-Match
///  part       as a segment; the part the playlist hints at next (EXT-X-PRELOAD-HINT) waits like a playlist
///  unknown    404 (another run's id, a segment out of the window, a mount without HLS)
/// ```
/// Successful answers keep the connection open for the next request when the client allows it (HTTP/1.1, or
/// `Connection: keep-alive`): a player fetches a playlist and a segment every few seconds, and a new connection
/// for each would cost more than the answer. Errors close it.
/// A mount with listener authentication serves no HLS (403): a playlist and its segments are plain files to any
/// cache, and cannot carry a listener's login.
struct HLSResponder: Responder {
    let server: ServerContext

    static let playlistType = "application/vnd.apple.mpegurl"
    /// Immutable resources (segment names are never reused: they carry the stream's id).
    static let segmentCacheControl = "public, max-age=86400, immutable"

    /// Whether `path` is an HLS name (the mount it names may still not exist).
    static func handles(_ path: String) -> Bool {
        HLSResource(path: path) != nil
    }

    func respond(to request: Request, on connection: Connection) {
        guard let resource = HLSResource(path: request.path) else {
            connection.respondAndClose(StaticFileResponder.notFound)
            return
        }
        let configuration = request.configuration.mount(resource.mount)
        guard let mount = mount(resource.mount, configuration: request.configuration), let stream = mount.hls,
            stream.configuration.enabled, stream.isServing || stream.currentMountPath.flatMap(server.mounts.mount)?.isLive == true
        else {
            connection.respondAndClose(.error(404, "No HLS stream here"))
            return
        }
        if case .live(let source) = mount.snapshot.source, !source.descriptor.format.isFramed, !stream.isServing {
            connection.respondAndClose(.error(404, "HLS is offered for MP3 and AAC mounts"))
            return
        }
        guard configuration.allowsHLS else {
            connection.respondAndClose(.error(403, "HLS is not offered for mounts with listener authentication"))
            return
        }
        guard stream.currentMountPath.map({ request.configuration.mount($0).allowsHLS }) ?? true else {
            // Following a fallback with a login (moved there before a reload added it, say): as for a listener.
            connection.respondAndClose(.error(404, "No HLS stream here"))
            return
        }
        mount.metrics?.hlsRequests(resource.kind).increment()
        switch resource {
        case .playlist:
            stream.recordRequest(.playlist, client: request.peer)
            playlist(stream, request: request, on: connection)
        case .segment(_, let id, let sequence, let fileExtension):
            stream.recordRequest(.segment, client: request.peer)
            guard let segment = stream.segment(sequence, streamID: id, fileExtension: fileExtension) else {
                connection.respondAndClose(.error(404, "No such segment"))
                return
            }
            send(segment.buffers, etag: "\(id)-\(sequence)", fileExtension: fileExtension, request: request, on: connection)
        case .part(_, let id, let sequence, let index, let fileExtension):
            stream.recordRequest(.part, client: request.peer)
            if let part = stream.part(sequence, index: index, streamID: id, fileExtension: fileExtension) {
                send(part.buffers, etag: "\(id)-\(sequence).\(index)", fileExtension: fileExtension, request: request, on: connection)
            } else if stream.isNextPart(sequence, index: index, streamID: id, fileExtension: fileExtension) {
                let timeout = Self.blockingTimeout(stream.configuration)
                waitThen(stream.wait(forSegment: sequence, part: index, timeout: timeout, channel: connection.channel, on: connection.eventLoop), request: request, on: connection) { connection, _ in
                    guard let part = stream.part(sequence, index: index, streamID: id, fileExtension: fileExtension) else {
                        connection.respondAndClose(.error(404, "No such part"))
                        return
                    }
                    send(part.buffers, etag: "\(id)-\(sequence).\(index)", fileExtension: fileExtension, request: request, on: connection)
                }
            } else {
                connection.respondAndClose(.error(404, "No such part"))
            }
        }
    }

    /// The mount at `path`. A configured mount without a source has its HLS stream follow its live fallback (one
    /// without listener authentication), as its listeners would (created for the purpose if no source ever fed
    /// it); the stream comes home when the mount's own source arrives.
    private func mount(_ path: String, configuration: ServerConfiguration) -> Mount? {
        let existing = server.mounts.mount(path)
        guard configuration.mounts[path] != nil else { return existing }
        let mount = existing ?? server.mounts.mountCreatingIfNeeded(
            path,
            queueCapacity: configuration.queueCapacity(forMount: path),
            hls: configuration.mount(path).hlsSettings
        )
        if let stream = mount.hls, !mount.isLive, stream.currentMountPath == path,
            let fallback = server.mounts.liveFallback(of: path, configuration: configuration),
            configuration.mount(fallback.path).allowsHLS,
            stream.move(from: mount, to: fallback, withLastBlock: true)
        {
            stream.settle(after: fallback)
        }
        return mount
    }

    /// The playlist now, or once the segment or part a blocking request names exists.
    private func playlist(_ stream: HLSStream, request: Request, on connection: Connection) {
        let msnText = request.head.queryValue("_HLS_msn")
        let partText = request.head.queryValue("_HLS_part")
        guard let msnText else {
            guard partText == nil else {
                connection.respondAndClose(.error(400, "_HLS_part needs _HLS_msn"))
                return
            }
            guard stream.isServing else {
                connection.respondAndClose(Self.starting)
                return
            }
            sendPlaylist(stream, blocking: false, request: request, on: connection)
            return
        }
        guard let msn = HLSResource.number(Substring(msnText)), partText.map({ HLSResource.number(Substring($0)) != nil }) ?? true else {
            connection.respondAndClose(.error(400, "_HLS_msn and _HLS_part are whole numbers"))
            return
        }
        let part = partText.flatMap { HLSResource.number(Substring($0)) }
        switch stream.availability(segment: msn, part: part) {
        case .tooFar:
            connection.respondAndClose(.error(400, "_HLS_msn is more than two segments ahead of the playlist, or _HLS_part past a segment's parts"))
        case .ready:
            sendPlaylist(stream, blocking: true, request: request, on: connection)
        case .soon:
            let timeout = Self.blockingTimeout(stream.configuration)
            waitThen(stream.wait(forSegment: msn, part: part, timeout: timeout, channel: connection.channel, on: connection.eventLoop), request: request, on: connection) { connection, ready in
                guard ready else {
                    connection.respondAndClose(.error(503, "The requested segment did not appear in time"))
                    return
                }
                sendPlaylist(stream, blocking: true, request: request, on: connection)
            }
        }
    }

    static let starting: IcecastResponse = {
        var response = IcecastResponse.error(503, "The stream is starting: no segment yet")
        response.extraHeaders = ["Retry-After: 1"]
        return response
    }()

    /// A blocking request waits at most three target durations (RFC 8216bis §6.2.5.2).
    static func blockingTimeout(_ configuration: HLSConfiguration) -> TimeAmount {
        .seconds(Int64(3 * configuration.targetDurationSeconds))
    }

    /// Whether the client lets the connection stay open after the answer. Never after a request with a body
    /// (`Content-Length` other than 0, or `Transfer-Encoding`): nothing here reads one, and its bytes must not be
    /// taken for the next request (a body that was itself a request got its own answer; found by a probe).
    static func keepsAlive(_ request: Request) -> Bool {
        let head = request.head
        if head["transfer-encoding"] != nil { return false }
        if let length = head["content-length"], length.trimmingCharacters(in: .whitespaces) != "0" { return false }
        let connection = head["connection"]?.lowercased() ?? ""
        if head.protocolName == "HTTP", head.protocolVersion == "1.1" { return !connection.contains("close") }
        return connection.contains("keep-alive")
    }

    /// Continues on the connection's loop once `future` completes; input meanwhile is kept for the next request
    /// (keep-alive) or ignored.
    private func waitThen(
        _ future: EventLoopFuture<Bool>,
        request: Request,
        on connection: Connection,
        _ body: @escaping (Connection, Bool) -> Void
    ) {
        if Self.keepsAlive(request) {
            connection.beginKeepAliveResponse(pending: request.leftover)
        } else {
            connection.awaitAnswer()
        }
        let loopBound = NIOLoopBound((connection, body), eventLoop: connection.eventLoop)
        future.whenSuccess { ready in
            let (connection, body) = loopBound.value
            guard connection.isActive else {
                connection.finishResponse(status: 200, bytes: 0)
                return
            }
            body(connection, ready)
        }
    }

    private func sendPlaylist(_ stream: HLSStream, blocking: Bool, request: Request, on connection: Connection) {
        let configuration = stream.configuration
        // A plain reload may be cached for half a part (or segment); the answer to a blocking request names a
        // state of the playlist that stays true, so a cache may keep it for the window's length.
        let maxAge = blocking
            ? configuration.targetDurationSeconds * configuration.window
            : Int(((configuration.partDuration ?? configuration.segmentDuration).seconds / 2).rounded(.down))
        var response = IcecastResponse(status: 200, contentType: Self.playlistType)
        response.cacheControl = "public, max-age=\(maxAge)"
        let body = stream.playlist()
        write(response, body: [body], request: request, on: connection)
    }

    private func send(
        _ buffers: [ByteBuffer],
        etag: String,
        fileExtension: String,
        request: Request,
        on connection: Connection
    ) {
        let tag = "\"\(etag)\""
        if let match = request.head["if-none-match"], match.split(separator: ",").contains(where: { $0.trimmingSpaces() == tag || $0.trimmingSpaces() == "*" }) {
            var response = IcecastResponse(status: 304, contentType: nil)
            response.cacheControl = Self.segmentCacheControl
            response.extraHeaders = ["ETag: \(tag)"]
            // Kept alive like the 200 would be: a player revalidating its segments goes on on this connection.
            write(response, body: [], request: request, on: connection)
            return
        }
        var response = IcecastResponse(status: 200, contentType: HLSNames.contentType(fileExtension: fileExtension))
        response.cacheControl = Self.segmentCacheControl
        response.extraHeaders = ["ETag: \(tag)"]
        write(response, body: buffers, request: request, on: connection)
    }

    /// The head (with CORS headers and the length), then the shared buffers as they are: no copy per request.
    private func write(_ response: IcecastResponse, body: [ByteBuffer], request: Request, on connection: Connection) {
        var response = response
        let length = body.reduce(0) { $0 + $1.readableBytes }
        response.extraHeaders += IcecastResponse.corsHeaders(alreadyConfigured: request.configuration.httpHeaders)
        if response.status != 304 {
            // A 304 has no body, and its length would be the 200's (RFC 9110 §8.6): none is sent.
            response.extraHeaders.append("Content-Length: \(length)")
        }
        let configuration = request.configuration
        let keepAlive = Self.keepsAlive(request) && request.method != "HEAD"
        let head = response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders, keepAlive: keepAlive)
        guard request.method != "HEAD" else {
            connection.respondAndClose(bytes: head, status: response.status)
            return
        }
        if keepAlive {
            connection.beginKeepAliveResponse(pending: request.leftover)
        } else {
            connection.beginResponse()
        }
        let channel = connection.channel
        let total = head.readableBytes + length
        channel.write(head, promise: nil)
        for buffer in body.dropLast() { channel.write(buffer, promise: nil) }
        let loopBound = NIOLoopBound(connection, eventLoop: connection.eventLoop)
        let status = response.status
        // A client that does not read does not hold the connection.
        let watchdog = connection.eventLoop.scheduleTask(in: StaticFileResponder.stallTimeout) { channel.close(promise: nil) }
        channel.writeAndFlush(body.last ?? ByteBuffer()).whenComplete { result in
            watchdog.cancel()
            let connection = loopBound.value
            let sent = (try? result.get()).map { total } ?? 0
            if keepAlive, sent > 0 {
                connection.finishKeepAliveResponse(status: status, bytes: sent)
            } else {
                connection.finishResponse(status: status, bytes: sent)
            }
        }
    }
}

extension HLSResource {
    var kind: HLSRequestCounts.Kind {
        switch self {
        case .playlist: return .playlist
        case .segment: return .segment
        case .part: return .part
        }
    }
}
