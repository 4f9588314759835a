import FloeCore
import Foundation

/// Files under the web root, for requests that are not mounts (Icecast `<fileserve>`): the pages in `web/`,
/// intro and fallback files, playlists an operator drops there.
///
/// Only regular files strictly inside the web root are served (no `..`, no symlink escapes), at most
/// `maximumBytes`; a directory serves its `index.html`. Files are small and read whole; this is not a media
/// server for large downloads.
enum StaticFileResponder {
    static let maximumBytes = 2 << 20

    /// The response for `path`, or `nil` when no such file may be served.
    static func response(for path: String, method: String, configuration: ServerConfiguration) -> IcecastResponse? {
        guard configuration.fileserve, !path.split(separator: "/").contains("..") else { return nil }
        let root = URL(fileURLWithPath: configuration.paths.webroot).standardizedFileURL.resolvingSymlinksInPath()
        var file = root.appendingPathComponent(String(path.drop { $0 == "/" })).standardizedFileURL.resolvingSymlinksInPath()
        guard file.path.hasPrefix(root.path + "/") || file.path == root.path else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            file = file.appendingPathComponent("index.html").resolvingSymlinksInPath()
            guard file.path.hasPrefix(root.path + "/"),
                FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { return nil }
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
            let size = attributes[.size] as? Int, size <= maximumBytes,
            let data = FileManager.default.contents(atPath: file.path)
        else { return nil }
        var response = IcecastResponse(status: 200, contentType: contentType(of: file.pathExtension))
        if method == "HEAD" {
            response.extraHeaders = ["Content-Length: \(data.count)"]
        } else {
            response.body = Array(data)
        }
        return response
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
