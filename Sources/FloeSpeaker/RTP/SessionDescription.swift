/// The SDP (RFC 8866) that tells a receiver how to play one RTP output: `ffplay http://…/live.sdp` or VLC opening
/// the URL needs nothing else.
public struct SessionDescription: Sendable, Equatable {
    /// Session name (`s=`): the stream's name, or the mount.
    public var name: String
    /// Where the packets go (`c=`).
    public var address: String
    public var port: Int
    /// Multicast TTL, written after the group address as RFC 8866 requires; `nil` for unicast.
    public var multicastTTL: Int?
    public var payloadType: UInt8
    /// `a=rtpmap` encoding: `MPA/90000`, `L16/44100/2`.
    public var encoding: String
    /// Identifies the session in `o=` (the sender's SSRC is a fine choice: it changes when the session does).
    public var sessionID: UInt32
    /// The host that made the session, for `o=` (RFC 8866 allows a name): the server's hostname.
    public var origin: String

    public init(
        name: String,
        address: String,
        port: Int,
        multicastTTL: Int?,
        payloadType: UInt8,
        encoding: String,
        sessionID: UInt32,
        origin: String = "localhost"
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.multicastTTL = multicastTTL
        self.payloadType = payloadType
        self.encoding = encoding
        self.sessionID = sessionID
        self.origin = origin
    }

    /// The description, lines ending in CRLF. Line breaks in the name (which comes from a source) become spaces.
    public var text: String {
        let safeName = String(name.map { $0.isNewline || $0 == "\0" ? " " : $0 })
        let connection = address + (multicastTTL.map { "/\($0)" } ?? "")
        return [
            "v=0",
            "o=- \(sessionID) \(sessionID) IN IP4 \(origin.isEmpty || origin.contains(" ") ? "localhost" : origin)",
            "s=\(safeName.isEmpty ? "Floe" : safeName)",
            "c=IN IP4 \(connection)",
            "t=0 0",
            "m=audio \(port) RTP/AVP \(payloadType)",
            "a=rtpmap:\(payloadType) \(encoding)",
            "a=recvonly",
        ].map { $0 + "\r\n" }.joined()
    }
}
