/// Settings of one mount (Icecast `<mount>`). `nil` means "not set here": the server-wide value or the source's
/// own header applies.
public struct MountConfiguration: Sendable, Equatable {
    /// Source user name for this mount; replaces the global `source` user.
    public var username: String?
    /// Source password for this mount; when set, the global source password no longer works here.
    public var password: String?
    /// Maximum listeners on this mount; `nil` is unlimited.
    public var maxListeners: Int?
    /// Listeners of this mount at once from one address; `nil`: only the global `max-listeners-per-ip` applies.
    public var maxListenersPerIP: Int?
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
    /// Per-mount burst and queue in seconds of play time; see `StreamAmount.resolve` for which setting wins.
    public var burstDuration: Double?
    public var queueDuration: Double?
    /// Per-mount source timeout in seconds, overriding `Limits.sourceTimeout`.
    public var sourceTimeout: Double?
    /// Where listeners go when this mount has no source: another mount, or an MP3 file under the web root
    /// (played in real time by the frame clock). Chains are followed; loops are refused at load time.
    public var fallbackMount: String?
    /// When a source returns to this mount, move back the listeners that came from it to the fallback.
    public var fallbackOverride: Bool
    /// When the mount is full (`maxListeners`), serve new listeners from the fallback instead of refusing them.
    public var fallbackWhenFull: Bool
    /// When the mount is full (and no fallback takes the listener), answer `302` to this base URL plus the
    /// request's path and query (`http://edge2.example:8000` → `http://edge2.example:8000/live`) instead of `403`:
    /// a full edge sends listeners on to another, as icecast-kh does.
    public var redirectWhenFull: String? = nil
    /// Seconds after which a listener is disconnected; `nil` is unlimited.
    public var maxListenerDuration: Double?
    /// MP3 file (relative to the web root, or absolute) played to each new listener before the live stream.
    public var intro: String?
    /// File that records every byte each source sends; `strftime` patterns (`%Y%m%d-%H%M%S`) are expanded at
    /// each source connection, so reconnects do not overwrite earlier recordings.
    public var dumpFile: String?
    /// Program run (with the mount path as its only argument, without waiting) when a source connects.
    public var onConnect: String?
    /// Program run (with the mount path as its only argument, without waiting) when a source disconnects.
    public var onDisconnect: String?
    /// How listeners must authenticate; `nil` lets everyone listen.
    public var listenerAuthentication: ListenerAuthentication?
    /// Headers added to this mount's successful (200) listener responses.
    public var httpHeaders: [ServerConfiguration.HTTPHeaderRule]
    /// Overrides the `Content-Type` the source declared (Icecast `<type>`).
    public var type: String?
    /// Overrides the bitrate shown in status (Icecast `<bitrate>`).
    public var bitrate: String?
    /// Hidden from public status pages.
    public var hidden: Bool
    /// Icecast `<public>`: -1 leaves it to the source, 0/1 force it.
    public var `public`: Int?
    /// Charset assumed for metadata updates that carry no `charset=` parameter.
    public var charset: String?
    /// Speaker outputs: RTP senders and local playback fed from this mount by the speaker's clock. Never inherited
    /// from the default mount (every mount would send to the same address).
    public var outputs: [SpeakerOutputConfiguration]
    /// A mount file's `relay:` section: this mount is pulled from upstreams. Never inherited. The native loader
    /// moves it into `ServerConfiguration.relay.relays` (with this mount as the local mount) when it finishes, so
    /// a loaded configuration has every relay in one list and this field empty.
    public var relay: PulledRelay? = nil
    /// HLS settings (`hls:`, `<floe-hls …/>`); `nil`: the defaults (`HLSConfiguration()`), HLS on.
    public var hls: HLSConfiguration? = nil
    /// This mount is made from another by transcoding (`transcode:`, `<floe-transcode …/>`). Never inherited.
    public var transcode: TranscodeConfiguration? = nil

    /// The HLS settings in force: this mount's, or the defaults.
    public var hlsSettings: HLSConfiguration { hls ?? HLSConfiguration() }

    /// A relay written in its mount's file, before it joins the configuration's list.
    public struct PulledRelay: Sendable, Equatable {
        /// The relay, its local mount not yet set.
        public var relay: ServerConfiguration.Relay
        /// `nil`: the main file's `relays-on-demand` decides.
        public var onDemand: Bool?

        public init(relay: ServerConfiguration.Relay, onDemand: Bool?) {
            self.relay = relay
            self.onDemand = onDemand
        }
    }

    public init(
        username: String? = nil,
        password: String? = nil,
        maxListeners: Int? = nil,
        maxListenersPerIP: Int? = nil,
        streamName: String? = nil,
        streamDescription: String? = nil,
        streamURL: String? = nil,
        genre: String? = nil,
        metadataInterval: Int? = nil,
        burstSize: Int? = nil,
        queueSize: Int? = nil,
        burstDuration: Double? = nil,
        queueDuration: Double? = nil,
        sourceTimeout: Double? = nil,
        fallbackMount: String? = nil,
        fallbackOverride: Bool = false,
        fallbackWhenFull: Bool = false,
        maxListenerDuration: Double? = nil,
        intro: String? = nil,
        dumpFile: String? = nil,
        onConnect: String? = nil,
        onDisconnect: String? = nil,
        listenerAuthentication: ListenerAuthentication? = nil,
        httpHeaders: [ServerConfiguration.HTTPHeaderRule] = [],
        type: String? = nil,
        bitrate: String? = nil,
        hidden: Bool = false,
        public: Int? = nil,
        charset: String? = nil,
        outputs: [SpeakerOutputConfiguration] = []
    ) {
        self.username = username
        self.password = password
        self.maxListeners = maxListeners
        self.maxListenersPerIP = maxListenersPerIP
        self.streamName = streamName
        self.streamDescription = streamDescription
        self.streamURL = streamURL
        self.genre = genre
        self.metadataInterval = metadataInterval
        self.burstSize = burstSize
        self.queueSize = queueSize
        self.burstDuration = burstDuration
        self.queueDuration = queueDuration
        self.sourceTimeout = sourceTimeout
        self.fallbackMount = fallbackMount
        self.fallbackOverride = fallbackOverride
        self.fallbackWhenFull = fallbackWhenFull
        self.maxListenerDuration = maxListenerDuration
        self.intro = intro
        self.dumpFile = dumpFile
        self.onConnect = onConnect
        self.onDisconnect = onDisconnect
        self.listenerAuthentication = listenerAuthentication
        self.httpHeaders = httpHeaders
        self.type = type
        self.bitrate = bitrate
        self.hidden = hidden
        self.public = `public`
        self.charset = charset
        self.outputs = outputs
    }
}

/// How a mount's listeners authenticate (Icecast `<authentication type="…">` inside a `<mount>`).
public enum ListenerAuthentication: Sendable, Equatable {
    /// Users and passwords in a file of `user:md5hex(password)` lines (Icecast's htpasswd format).
    case htpasswd(HTPasswdOptions)
    /// An HTTP service decides: Floe POSTs `action=listener_add&…` and admits the listener when the reply
    /// carries `icecast-auth-user: 1`.
    case url(URLAuthenticationOptions)
}

/// Options of htpasswd listener authentication.
public struct HTPasswdOptions: Sendable, Equatable {
    /// The users file.
    public var filename: String
    /// Whether one user may be connected more than once.
    public var allowDuplicateUsers: Bool

    public init(filename: String, allowDuplicateUsers: Bool = true) {
        self.filename = filename
        self.allowDuplicateUsers = allowDuplicateUsers
    }
}

/// Options of URL listener authentication (Icecast `auth_url`).
public struct URLAuthenticationOptions: Sendable, Equatable {
    /// URL POSTed when a listener arrives (`action=listener_add`).
    public var listenerAdd: String?
    /// URL POSTed when a listener leaves (`action=listener_remove`, with `duration`).
    public var listenerRemove: String?
    /// Basic credentials for the auth service, if it wants them.
    public var username: String?
    public var password: String?
    /// Reply header that admits a listener, and the value it must have.
    public var authHeader: String
    /// Reply header that limits the listener's time, in seconds.
    public var timelimitHeader: String
    /// Request headers copied into the POST (as `<headerPrefix><name>=value`).
    public var headers: [String]
    public var headerPrefix: String

    public init(
        listenerAdd: String? = nil,
        listenerRemove: String? = nil,
        username: String? = nil,
        password: String? = nil,
        authHeader: String = "icecast-auth-user: 1",
        timelimitHeader: String = "icecast-auth-timelimit:",
        headers: [String] = [],
        headerPrefix: String = "ClientHeader."
    ) {
        self.listenerAdd = listenerAdd
        self.listenerRemove = listenerRemove
        self.username = username
        self.password = password
        self.authHeader = authHeader
        self.timelimitHeader = timelimitHeader
        self.headers = headers
        self.headerPrefix = headerPrefix
    }
}
