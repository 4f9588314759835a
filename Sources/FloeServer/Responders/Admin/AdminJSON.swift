import FloeCore

/// The admin API's JSON replies (beyond Icecast: `Accept: application/json` or a command ending in `.json`), as
/// `Encodable` types. Keys are the names the admin page and tools read.
enum AdminJSON {
    /// Icecast's `<iceresponse>` as JSON.
    struct Reply: Encodable {
        var message: String
        var `return`: Int
    }

    /// `listmounts`.
    struct MountList: Encodable {
        struct Mount: Encodable {
            var mount: String
            var listeners: Int
            var connected: Int
            var contentType: String
            var fallback: Nullable<String>

            enum CodingKeys: String, CodingKey {
                case mount, listeners, connected, fallback
                case contentType = "content_type"
            }
        }

        var mounts: [Mount]
    }

    /// `listclients`.
    struct ListenerList: Encodable {
        struct Listener: Encodable {
            var id: Int
            var ip: String
            var userAgent: String
            var connected: Int
            var username: Nullable<String>

            enum CodingKeys: String, CodingKey {
                case id, ip, connected, username
                case userAgent = "user_agent"
            }
        }

        var mount: String
        var listeners: [Listener]
    }

    /// `streamlist.txt` as JSON: the visible live mounts.
    struct StreamList: Encodable {
        var mounts: [String]
    }

    /// `updatemetadata`.
    struct Mount: Encodable {
        var mount: String
    }

    /// `buildm3u`.
    struct PlaylistURL: Encodable {
        var url: String
    }

    /// `manageauth`.
    struct Users: Encodable {
        var mount: String
        var users: [String]
        var message: Nullable<String>
    }

    /// `token`.
    struct Token: Encodable {
        var token: String
    }

    /// `history`: listener counts per mount, oldest first, one every `interval` seconds.
    struct History: Encodable {
        var interval: Int
        var mounts: [String: [Int]]
    }
}
