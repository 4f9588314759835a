import CShout
import Foundation

/// A real libshout source client (the library behind ezstream, ices and many others).
///
/// libshout's calls block, so use it from a thread of its own (`Task.detached` is fine in tests). Its default
/// TLS mode makes it probe the server with `OPTIONS *` and `GET /admin/!POKE` before logging in, exactly as
/// deployed clients do.
public final class ShoutSource: @unchecked Sendable {
    // @unchecked: libshout handles are not thread-safe; a test drives one source from one task at a time.
    public struct Failure: Error, CustomStringConvertible {
        public var call: String
        public var code: Int32
        public var message: String
        public var description: String { "\(call) failed (\(code)): \(message)" }
    }

    private let shout: OpaquePointer

    /// libshout's TLS modes (`shout_set_tls`).
    public enum TLS: Int32, Sendable {
        /// Never TLS.
        case disabled = 0
        /// libshout's default: probes with `OPTIONS *` and `Upgrade: TLS/1.0`, and upgrades when the server agrees.
        case auto = 1
        /// Like `auto`, but refuses to go on in plain text.
        case autoNoPlain = 2
        /// TLS from the first byte, like HTTPS.
        case rfc2818 = 11
        /// Always upgrades a plain connection (RFC 2817).
        case rfc2817 = 12
    }

    public init(
        host: String = "127.0.0.1",
        port: Int,
        mount: String,
        user: String = "source",
        password: String,
        name: String? = nil,
        genre: String? = nil,
        description: String? = nil,
        shoutcastProtocol: Bool = false,
        tls: TLS = .auto,
        caFile: String? = nil
    ) throws {
        shout_init()
        guard let shout = shout_new() else { throw Failure(call: "shout_new", code: -1, message: "no memory") }
        self.shout = shout
        try check("shout_set_host", shout_set_host(shout, host))
        try check("shout_set_port", shout_set_port(shout, UInt16(port)))
        try check("shout_set_user", shout_set_user(shout, user))
        try check("shout_set_password", shout_set_password(shout, password))
        try check("shout_set_mount", shout_set_mount(shout, mount))
        // ICY (SHOUTcast v1) connects to port + 1 by itself and sends titles to /admin.cgi on `port`.
        let proto = shoutcastProtocol ? SHOUT_PROTOCOL_ICY : SHOUT_PROTOCOL_HTTP
        try check("shout_set_protocol", shout_set_protocol(shout, UInt32(proto)))
        try check("shout_set_format", shout_set_format(shout, UInt32(SHOUT_FORMAT_MP3)))
        try check("shout_set_tls", shout_set_tls(shout, tls.rawValue))
        if let caFile { try check("shout_set_ca_file", shout_set_ca_file(shout, caFile)) }
        if let name { try check("shout_set_meta name", shout_set_meta(shout, SHOUT_META_NAME, name)) }
        if let genre { try check("shout_set_meta genre", shout_set_meta(shout, SHOUT_META_GENRE, genre)) }
        if let description {
            try check("shout_set_meta description", shout_set_meta(shout, SHOUT_META_DESCRIPTION, description))
        }
    }

    deinit {
        shout_close(shout)
        shout_free(shout)
    }

    /// Connects and logs in.
    public func open() throws {
        try check("shout_open", shout_open(shout))
    }

    /// Sends audio. With `paced`, waits as libshout's users do (`shout_sync`) so the stream goes at real time.
    public func send(_ bytes: [UInt8], paced: Bool = false) throws {
        try bytes.withUnsafeBufferPointer { buffer in
            try check("shout_send", shout_send(shout, buffer.baseAddress, buffer.count))
        }
        if paced { shout_sync(shout) }
    }

    /// Sets the title with `shout_set_metadata` (an admin/metadata request on a connection of its own).
    public func setTitle(_ title: String) throws {
        guard let metadata = shout_metadata_new() else { throw Failure(call: "shout_metadata_new", code: -1, message: "") }
        defer { shout_metadata_free(metadata) }
        try check("shout_metadata_add", shout_metadata_add(metadata, "song", title))
        try check("shout_set_metadata", shout_set_metadata(shout, metadata))
    }

    public func close() {
        shout_close(shout)
    }

    private func check(_ call: String, _ code: Int32) throws {
        guard code == SHOUTERR_SUCCESS else {
            throw Failure(call: call, code: code, message: String(cString: shout_get_error(shout)))
        }
    }
}
