import FloeCore
import Logging
import NIOCore

/// One parsed request, as the router and responders see it.
///
/// It carries the configuration snapshot taken when the connection was accepted: a request sees one configuration
/// from its first byte to its last, even if a reload swaps in another meanwhile.
struct Request {
    /// The head, with an `<alias>` already applied to its URI.
    var head: RequestHead
    let snapshot: ConfigurationSnapshot
    /// Whether the request came over TLS (then links Floe writes, such as playlists, say `https`).
    let isTLS: Bool
    /// The client's address (`unknown` when the socket has none).
    let peer: String
    /// Unique per connection in this server run; a listener's and a source's id.
    let connectionID: Int
    /// Bytes that arrived after the head (a source's first audio).
    let leftover: ByteBuffer
    /// The mount SHOUTcast-style `/admin.cgi` title updates on this socket go to (its `shoutcast-mount`).
    let shoutcastMount: String?
    /// Tagged with the connection id and peer.
    var logger: Logger

    var configuration: ServerConfiguration { snapshot.configuration }
    var path: String { head.path }
    var method: String { head.method }
}
