import FloeCore
import Foundation
import NIOCore
import NIOPosix

/// Files under the web root, for requests that are not mounts (Icecast `<fileserve>`): the pages in `web/`,
/// intro and fallback files, playlists an operator drops there.
///
/// Only regular files strictly inside the web root are served (no `..`, no symlink escapes); a directory serves
/// its `index.html`. Nothing touches the disk on the event loop: the path is resolved and the file opened on NIO's
/// thread pool, then read in chunks by `NonBlockingFileIO`, each chunk read only once the previous one has been
/// written to the socket (backpressure), so a file of any size streams with one chunk in memory per client.
enum StaticFileResponder {
    /// Bytes read and written at a time.
    static let chunkSize = 64 * 1024
    /// A client that takes no chunk for this long is disconnected.
    static let stallTimeout = TimeAmount.seconds(60)
    static let notFound = IcecastResponse.error(404, "The file you requested could not be found")

    private static let fileIO = NonBlockingFileIO(threadPool: .singleton)

    /// Serves the web-root file the request's path names, or 404.
    static func serve(_ request: Request, on connection: Connection) {
        let configuration = request.configuration
        let path = request.path
        guard configuration.fileserve, !path.split(separator: "/").contains("..") else {
            connection.respondAndClose(notFound)
            return
        }
        let root = configuration.paths.webroot
        open({ locate(path, under: root) }, for: request, on: connection, missing: notFound)
    }

    /// Serves the file at `file` (an absolute path the server chose, such as the admin page), or `missing`.
    static func serveFile(_ file: String, for request: Request, on connection: Connection, missing: IcecastResponse) {
        open({ file }, for: request, on: connection, missing: missing)
    }

    /// The file `path` names under `webroot`, resolved (symlinks included) and checked to stay inside it; a
    /// directory's `index.html`. Blocking: call it off the event loop.
    static func locate(_ path: String, under webroot: String) -> String? {
        let root = URL(fileURLWithPath: webroot).standardizedFileURL.resolvingSymlinksInPath()
        var file = root.appendingPathComponent(String(path.drop { $0 == "/" })).standardizedFileURL.resolvingSymlinksInPath()
        guard file.path.hasPrefix(root.path + "/") || file.path == root.path else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else { return nil }
        // `a.txt/` names a directory that is not there (the URL drops the slash when standardised).
        if path.hasSuffix("/"), !isDirectory.boolValue { return nil }
        if isDirectory.boolValue {
            file = file.appendingPathComponent("index.html").resolvingSymlinksInPath()
            guard file.path.hasPrefix(root.path + "/"),
                FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { return nil }
        }
        // A FIFO or device would block the pool thread opening it (two named pipes stalled every static file and
        // the admin page; found by a probe).
        guard (try? FileManager.default.attributesOfItem(atPath: file.path)[.type] as? FileAttributeType) == .typeRegular
        else { return nil }
        return file.path
    }

    /// Finds and opens the file on the thread pool, then answers on the connection's loop.
    private static func open(
        _ locate: @escaping @Sendable () -> String?,
        for request: Request,
        on connection: Connection,
        missing: IcecastResponse
    ) {
        connection.awaitAnswer()
        let loopBound = NIOLoopBound(connection, eventLoop: connection.eventLoop)
        let method = request.method
        let configuration = request.configuration
        NIOThreadPool.singleton.runIfActive(eventLoop: connection.eventLoop) { () throws -> OpenedFile? in
            guard let path = locate() else { return nil }
            // Non-blocking, in case the file was swapped for a FIFO since `locate` looked: opening it cannot wait for
            // a writer, and `FileRegion` then fails on it (no size) instead of serving it.
            let handle = try NIOFileHandle(_deprecatedPath: path, mode: .read, flags: .posix(flags: O_NONBLOCK, mode: 0))
            do {
                let region = try FileRegion(fileHandle: handle)
                return OpenedFile(path: path, handle: handle, size: region.readableBytes)
            } catch {
                try? handle.close()
                throw error
            }
        }
        .whenComplete { result in
            let connection = loopBound.value
            guard case .success(let opened?) = result else {
                connection.respondAndClose(missing)
                return
            }
            guard connection.isActive else {
                // The client left while the file was being opened: logged, nothing sent.
                try? opened.handle.close()
                connection.finishResponse(status: 200, bytes: 0)
                return
            }
            send(opened, method: method, configuration: configuration, on: connection)
        }
    }

    /// An open file and its size; whoever holds it closes the handle.
    private struct OpenedFile: @unchecked Sendable {
        // `@unchecked`: the handle is used by one party at a time (opened on the pool, then read by
        // `NonBlockingFileIO` and closed on the connection's loop once the last chunk is written).
        var path: String
        var handle: NIOFileHandle
        var size: Int
    }

    /// The response head, then the file in chunks, each read once the previous one is on its way to the client.
    private static func send(
        _ file: OpenedFile,
        method: String,
        configuration: ServerConfiguration,
        on connection: Connection
    ) {
        var response = IcecastResponse(status: 200, contentType: contentType(of: URL(fileURLWithPath: file.path).pathExtension))
        response.extraHeaders = ["Content-Length: \(file.size)"]
        let head = response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders)
        let headBytes = head.readableBytes
        guard method != "HEAD" else {
            try? file.handle.close()
            connection.respondAndClose(bytes: head, status: 200)
            return
        }
        connection.beginResponse()
        let channel = connection.channel
        let eventLoop = connection.eventLoop
        let sent = NIOLoopBoundBox(0, eventLoop: eventLoop)
        // Flushed at once: an empty file has no chunk to carry the head out.
        channel.writeAndFlush(head).whenSuccess { sent.value += headBytes }
        let loopBound = NIOLoopBound(connection, eventLoop: eventLoop)
        fileIO.readChunked(
            fileHandle: file.handle,
            byteCount: file.size,
            chunkSize: chunkSize,
            allocator: channel.allocator,
            eventLoop: eventLoop
        ) { chunk in
            let count = chunk.readableBytes
            let written = channel.writeAndFlush(chunk)
            let watchdog = eventLoop.scheduleTask(in: stallTimeout) { channel.close(promise: nil) }
            written.whenComplete { result in
                watchdog.cancel()
                // Counted once the socket took it: the access log shows what the client was really sent.
                if case .success = result { sent.value += count }
            }
            return written
        }
        .whenComplete { result in
            try? file.handle.close()
            let connection = loopBound.value
            switch result {
            case .success:
                connection.finishResponse(status: 200, bytes: sent.value)
            case .failure:
                // The client went away (or the file shrank): what was sent is logged, the connection closed.
                connection.finishResponse(status: 200, bytes: sent.value)
                channel.close(promise: nil)
            }
        }
    }

    static func contentType(of fileExtension: String) -> String {
        switch fileExtension.lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "json": return "application/json; charset=utf-8"
        case "xml", "xsl": return "text/xml; charset=utf-8"
        case "txt": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "ico": return "image/x-icon"
        case "mp3": return "audio/mpeg"
        case "ogg", "oga": return "application/ogg"
        case "opus": return "audio/ogg"
        case "m3u": return "audio/x-mpegurl"
        case "pls": return "audio/x-scpls"
        case "xspf": return "application/xspf+xml"
        default: return "application/octet-stream"
        }
    }
}
