/// Settings of one mount (Icecast `<mount>`). `nil` means "not set here": the server-wide value or the source's
/// own header applies.
public struct MountConfiguration: Sendable, Equatable {
    /// Source user name for this mount; replaces the global `source` user.
    public var username: String?
    /// Source password for this mount; when set, the global source password no longer works here.
    public var password: String?
    /// Maximum listeners on this mount; `nil` is unlimited.
    public var maxListeners: Int?
    /// Overrides the source's `ice-name` in listener headers and status.
    public var streamName: String?
    /// Overrides the source's `ice-description`.
    public var streamDescription: String?
    /// Overrides the source's `ice-url`.
    public var streamURL: String?
    /// Overrides the source's `ice-genre`.
    public var genre: String?
    /// ICY metadata interval in audio bytes for new listeners (Icecast `<mp3-metadata-interval>`).
    public var metadataInterval: Int?
    /// Per-mount burst size in bytes, overriding `Limits.burstSize`.
    public var burstSize: Int?
    /// Per-mount queue size in bytes, overriding `Limits.queueSize`.
    public var queueSize: Int?
    /// Per-mount source timeout in seconds, overriding `Limits.sourceTimeout`.
    public var sourceTimeout: Double?
    /// Mount whose listeners take over when this one has no source. Stored now; served by a later issue.
    public var fallbackMount: String?
    /// Hidden from public status pages.
    public var hidden: Bool
    /// Icecast `<public>`: -1 leaves it to the source, 0/1 force it.
    public var `public`: Int?
    /// Charset assumed for metadata updates that carry no `charset=` parameter.
    public var charset: String?

    public init(
        username: String? = nil,
        password: String? = nil,
        maxListeners: Int? = nil,
        streamName: String? = nil,
        streamDescription: String? = nil,
        streamURL: String? = nil,
        genre: String? = nil,
        metadataInterval: Int? = nil,
        burstSize: Int? = nil,
        queueSize: Int? = nil,
        sourceTimeout: Double? = nil,
        fallbackMount: String? = nil,
        hidden: Bool = false,
        public: Int? = nil,
        charset: String? = nil
    ) {
        self.username = username
        self.password = password
        self.maxListeners = maxListeners
        self.streamName = streamName
        self.streamDescription = streamDescription
        self.streamURL = streamURL
        self.genre = genre
        self.metadataInterval = metadataInterval
        self.burstSize = burstSize
        self.queueSize = queueSize
        self.sourceTimeout = sourceTimeout
        self.fallbackMount = fallbackMount
        self.hidden = hidden
        self.public = `public`
        self.charset = charset
    }
}
