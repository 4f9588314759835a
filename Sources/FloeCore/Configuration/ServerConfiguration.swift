/// The whole effective configuration of a Floe server.
///
/// Every loader (the embedded default, `icecast.xml`, and later the native file plus `mounts/`) produces this one
/// model, so the server never knows where a value came from. Fields carry their documented defaults in `init`.
public struct ServerConfiguration: Sendable, Equatable {
    /// Sockets to accept connections on. At least one.
    public var listenSockets: [ListenSocket]
    /// Source, admin and relay credentials.
    public var authentication: Authentication
    /// Connection and buffering limits.
    public var limits: Limits
    /// Per-mount settings, keyed by mount path (`/live`). Mounts not listed here use `defaultMount`.
    public var mounts: [String: MountConfiguration]
    /// Settings for any mount that has no entry in `mounts` (Icecast's `<mount type="default">`).
    public var defaultMount: MountConfiguration
    /// Host name used in listen URLs and playlists (Icecast `<hostname>`).
    public var hostname: String
    /// Free-text location shown in status (Icecast `<location>`).
    public var location: String
    /// Contact address shown in status (Icecast `<admin>`).
    public var adminContact: String
    /// Value of the `Server:` response header and the `server_id` stat (Icecast `<server-id>`).
    public var serverID: String
    /// Extra headers sent on every HTTP response (Icecast global `<http-headers>`).
    public var httpHeaders: [HTTPHeaderRule]
    /// Serve the files under `paths.webroot` that are not mounts (Icecast `<fileserve>`).
    public var fileserve: Bool
    /// Files and directories (Icecast `<paths>`).
    public var paths: Paths
    /// Log destinations and level (Icecast `<logging>`).
    public var logging: Logging
    /// Relays and slave mode (master-server settings).
    public var relay: RelaySettings
    /// Who may read `/metrics`.
    public var metricsAccess: MetricsAccess
    /// What a mount's source credentials may do in the admin API.
    public var sourceCredentials: SourceCredentialsScope
    /// The certificate TLS sockets present; required when a listen socket's `tls` is not `off`.
    public var tls: TLSCertificateSettings?
    /// A PEM file of CA certificates that Floe's own HTTP client trusts for `https` besides the system's store
    /// (URL authentication services, relays): a private CA. `nil`: the system's store only.
    public var httpClientCAFile: String?
    /// Reverse proxies and CDN nodes whose `Forwarded` or `X-Forwarded-For` names the real client (addresses and
    /// CIDR ranges). Requests from anyone else are taken to come from their socket's address, whatever they say.
    public var trustedProxies: AddressList
    /// The header the trusted proxies name the client in; the other one is ignored (a proxy passes it on as the
    /// client wrote it).
    public var clientAddressHeader: ForwardedClientAddress.Header

    /// Who may read `/metrics` (it names every mount and counts every byte).
    public enum MetricsAccess: String, Sendable, Equatable, CaseIterable {
        /// Anyone.
        case `public`
        /// Admin credentials.
        case admin
        /// Clients on this machine (loopback), or anyone with admin credentials. The default.
        case local
    }

    /// What a mount's source credentials may do besides streaming.
    public enum SourceCredentialsScope: String, Sendable, Equatable, CaseIterable {
        /// Icecast 2.4's rule and the default: every mount command (`metadata`, `listclients`, `killclient`,
        /// `moveclients`, `killsource`, `fallbacks`, `manageauth`, `updatemetadata`) on that mount.
        case mountAdmin = "mount-admin"
        /// Title updates only (`metadata`, `updatemetadata`, `/admin.cgi`): a source password given to a DJ cannot
        /// kick listeners, move them or end someone else's stream.
        case metadataOnly = "metadata-only"
    }

    public init(
        listenSockets: [ListenSocket] = [ListenSocket()],
        authentication: Authentication = Authentication(),
        limits: Limits = Limits(),
        mounts: [String: MountConfiguration] = [:],
        defaultMount: MountConfiguration = MountConfiguration(),
        hostname: String = "localhost",
        location: String = "Earth",
        adminContact: String = "icemaster@localhost",
        serverID: String = "Icecast 2.4.4 (Floe)",
        httpHeaders: [HTTPHeaderRule] = [],
        fileserve: Bool = true,
        paths: Paths = Paths(),
        logging: Logging = Logging(),
        relay: RelaySettings = RelaySettings(),
        metricsAccess: MetricsAccess = .local,
        sourceCredentials: SourceCredentialsScope = .mountAdmin,
        tls: TLSCertificateSettings? = nil,
        httpClientCAFile: String? = nil,
        trustedProxies: AddressList = AddressList(),
        clientAddressHeader: ForwardedClientAddress.Header = .xForwardedFor
    ) {
        self.listenSockets = listenSockets
        self.authentication = authentication
        self.limits = limits
        self.mounts = mounts
        self.defaultMount = defaultMount
        self.hostname = hostname
        self.location = location
        self.adminContact = adminContact
        self.serverID = serverID
        self.httpHeaders = httpHeaders
        self.fileserve = fileserve
        self.paths = paths
        self.logging = logging
        self.relay = relay
        self.metricsAccess = metricsAccess
        self.sourceCredentials = sourceCredentials
        self.tls = tls
        self.httpClientCAFile = httpClientCAFile
        self.trustedProxies = trustedProxies
        self.clientAddressHeader = clientAddressHeader
    }

    /// The default mount's settings and every configured mount's.
    public var everyMountSettings: [MountConfiguration] {
        [defaultMount] + Array(mounts.values)
    }

    /// The paths some mount falls back to (mounts, or MP3 files under the web root).
    public var fallbackTargets: Set<String> {
        Set(everyMountSettings.compactMap(\.fallbackMount))
    }

    /// The settings that apply to `mountPath`: its own entry, or the default mount's.
    public func mount(_ mountPath: String) -> MountConfiguration {
        mounts[mountPath] ?? defaultMount
    }

    /// What a new listener of `mountPath` is sent at once: `burst-duration` or `burst-size`, the mount's own
    /// setting before the global one, and at one level the duration before the bytes.
    public func burst(forMount mountPath: String) -> StreamAmount {
        let mount = mount(mountPath)
        return .resolve(mountDuration: mount.burstDuration, mountBytes: mount.burstSize, globalDuration: limits.burstDuration, globalBytes: limits.burstSize)
    }

    /// How much stream `mountPath` keeps: `queue-duration` or `queue-size`, resolved as the burst is.
    public func queueCapacity(forMount mountPath: String) -> StreamAmount {
        let mount = mount(mountPath)
        return .resolve(mountDuration: mount.queueDuration, mountBytes: mount.queueSize, globalDuration: limits.queueDuration, globalBytes: limits.queueSize)
    }
}

extension ServerConfiguration {
    /// One listening socket (Icecast `<listen-socket>`).
    public struct ListenSocket: Sendable, Equatable {
        /// Address to bind. `nil` binds every interface, as Icecast does when `<bind-address>` is absent.
        public var bindAddress: String?
        /// TCP port; `0` asks the kernel for a free port (tests).
        public var port: Int
        /// Icecast `<shoutcast-mount>`: also accept SHOUTcast v1 sources on `port + 1` for this mount.
        /// Stored now; served by a later issue.
        public var shoutcastMount: String?
        /// Plain HTTP, TLS, or both told apart by the first byte.
        public var tls: TLSMode

        public init(bindAddress: String? = nil, port: Int = 8000, shoutcastMount: String? = nil, tls: TLSMode = .off) {
            self.bindAddress = bindAddress
            self.port = port
            self.shoutcastMount = shoutcastMount
            self.tls = tls
        }
    }

    /// Credentials (Icecast `<authentication>`).
    public struct Authentication: Sendable, Equatable {
        /// User name sources log in with unless a mount overrides it. Icecast always uses `source`.
        public var sourceUser: String
        /// Global source password. `nil` rejects every source that has no per-mount password.
        public var sourcePassword: String?
        /// Admin user for `/admin/*`.
        public var adminUser: String
        /// Admin password. `nil` disables admin logins.
        public var adminPassword: String?
        /// Relay user (used by `/admin/streamlist.txt`).
        public var relayUser: String
        /// Relay password. `nil` disables relay logins.
        public var relayPassword: String?

        public init(
            sourceUser: String = "source",
            sourcePassword: String? = nil,
            adminUser: String = "admin",
            adminPassword: String? = nil,
            relayUser: String = "relay",
            relayPassword: String? = nil
        ) {
            self.sourceUser = sourceUser
            self.sourcePassword = sourcePassword
            self.adminUser = adminUser
            self.adminPassword = adminPassword
            self.relayUser = relayUser
            self.relayPassword = relayPassword
        }
    }

    /// Connection and buffering limits (Icecast `<limits>`).
    public struct Limits: Sendable, Equatable {
        /// Maximum simultaneous client connections of every kind (listeners, sources, admin).
        public var clients: Int
        /// Maximum simultaneous sources.
        public var sources: Int
        /// Bytes of stream a mount keeps; a listener further behind than this is dropped.
        public var queueSize: Int
        /// Bytes of recent stream sent to a new listener at once (starting on a frame boundary).
        public var burstSize: Int
        /// Seconds of play time a mount keeps, replacing `queueSize` when set (Floe's own).
        public var queueDuration: Double?
        /// Seconds of play time sent to a new listener at once, replacing `burstSize` when set (Floe's own): every
        /// mount's listeners start the same time behind live, whatever its bitrate.
        public var burstDuration: Double?
        /// Seconds a client has to send its whole request head.
        public var headerTimeout: Double
        /// Seconds of silence after which a source is dropped.
        public var sourceTimeout: Double
        /// Seconds of media gathered into one block (Floe's own setting). Each listener gets one write per block,
        /// and system calls per listener decide what relaying costs: 0.5 s is 2 writes per listener-second
        /// against Icecast's 11. It delays nothing a player notices: the burst alone keeps a new listener
        /// about 4 s behind live. Lower it for monitoring or talk-back mounts.
        public var blockDuration: Double
        /// Listeners at once from one address (`nil`: unlimited). Many connections from one address are the most
        /// common abuse of a public stream.
        public var maxListenersPerIP: Int?
        /// Connections from one address still sending their request head (`0`: unlimited): a slow-loris flood
        /// from one address cannot hold the server's connections while listeners wait.
        public var maxPendingPerIP: Int
        /// A URL: when the server is at `clients`, new listeners get a 302 to it plus their path and query (another
        /// edge) instead of a 403. `nil`: 403.
        public var redirectWhenFull: String?

        public init(
            clients: Int = 10_000,
            sources: Int = 16,
            queueSize: Int = 512 * 1024,
            burstSize: Int = 64 * 1024,
            headerTimeout: Double = 15,
            sourceTimeout: Double = 10,
            blockDuration: Double = 0.5,
            maxListenersPerIP: Int? = nil,
            maxPendingPerIP: Int = 64,
            redirectWhenFull: String? = nil
        ) {
            self.clients = clients
            self.sources = sources
            self.queueSize = queueSize
            self.burstSize = burstSize
            self.queueDuration = nil
            self.burstDuration = nil
            self.headerTimeout = headerTimeout
            self.sourceTimeout = sourceTimeout
            self.blockDuration = blockDuration
            self.maxListenersPerIP = maxListenersPerIP
            self.maxPendingPerIP = maxPendingPerIP
            self.redirectWhenFull = redirectWhenFull
        }
    }

    /// A header added to responses (Icecast `<header name="…" value="…" [status="…"]/>`).
    public struct HTTPHeaderRule: Sendable, Equatable {
        public var name: String
        public var value: String
        /// Only responses with this status code get the header; `nil` means every response.
        public var status: Int?

        public init(name: String, value: String, status: Int? = nil) {
            self.name = name
            self.value = value
            self.status = status
        }
    }
}

extension ServerConfiguration {
    /// Files and directories (Icecast `<paths>`).
    public struct Paths: Sendable, Equatable {
        /// Directory of static files, intro files and file fallbacks (Icecast `<webroot>`).
        public var webroot: String
        /// Directory the access and error logs go to when their names are relative (Icecast `<logdir>`).
        public var logdir: String
        /// File Floe writes its process id to, if set.
        public var pidfile: String?
        /// Request paths served as other paths (Icecast `<alias source="/" destination="/status.xsl"/>`).
        public var aliases: [Alias]
        /// A file of addresses, one per line, that alone may connect (Icecast `<allow-ip>`); `nil`: anyone.
        public var allowIPFile: String?
        /// A file of addresses, one per line, that may not connect (Icecast `<deny-ip>`).
        public var denyIPFile: String?

        public init(
            webroot: String = "web",
            logdir: String = ".",
            pidfile: String? = nil,
            aliases: [Alias] = [],
            allowIPFile: String? = nil,
            denyIPFile: String? = nil
        ) {
            self.webroot = webroot
            self.logdir = logdir
            self.pidfile = pidfile
            self.aliases = aliases
            self.allowIPFile = allowIPFile
            self.denyIPFile = denyIPFile
        }
    }

    /// A request path answered as another path.
    public struct Alias: Sendable, Equatable {
        public var source: String
        public var destination: String

        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    /// Logging (Icecast `<logging>`).
    public struct Logging: Sendable, Equatable {
        /// Access log file (relative to `paths.logdir`), `-` for standard output, `nil` for none.
        public var accessLog: String?
        /// Error log file (relative to `paths.logdir`), `-` for standard error.
        public var errorLog: String
        /// Least severe level logged: `debug`, `info`, `warning` or `error` (Icecast 4…1).
        public var level: String

        public init(accessLog: String? = nil, errorLog: String = "-", level: String = "info") {
            self.accessLog = accessLog
            self.errorLog = errorLog
            self.level = level
        }
    }

    /// Relays, and slave mode: relaying every mount a master server lists.
    public struct RelaySettings: Sendable, Equatable {
        /// Icecast `<relay>` blocks: `server:port/mount` pulled onto `localMount`.
        public var relays: [Relay]
        /// Icecast `<master-server>` (with port and credentials) for slave mode.
        public var masterServer: String?
        public var masterServerPort: Int?
        /// User for polling the master's `/admin/streamlist.txt` (Icecast `<master-username>`, default `relay`).
        public var masterUsername: String
        /// Password for the master (Icecast `<master-password>`); `nil` sends no credentials.
        public var masterPassword: String?
        /// Seconds between polls of the master's stream list (Icecast `<master-update-interval>`, default 120).
        public var masterUpdateInterval: Double
        /// Whether relays that do not say otherwise connect only while someone listens
        /// (Icecast `<relays-on-demand>`).
        public var relaysOnDemand: Bool

        public init(
            relays: [Relay] = [],
            masterServer: String? = nil,
            masterServerPort: Int? = nil,
            masterUsername: String = "relay",
            masterPassword: String? = nil,
            masterUpdateInterval: Double = 120,
            relaysOnDemand: Bool = false
        ) {
            self.relays = relays
            self.masterServer = masterServer
            self.masterServerPort = masterServerPort
            self.masterUsername = masterUsername
            self.masterPassword = masterPassword
            self.masterUpdateInterval = masterUpdateInterval
            self.relaysOnDemand = relaysOnDemand
        }
    }

    /// One pulled relay: a local mount fed from the first upstream that answers, in priority order.
    public struct Relay: Sendable, Equatable {
        /// Upstream streams in priority order (at least one).
        public var upstreams: [RelayUpstream]
        public var localMount: String
        public var onDemand: Bool
        /// Ask the remote server for ICY metadata and carry it over (Icecast `<relay-shoutcast-metadata>`, default on).
        public var relayMetadata: Bool
        /// Seconds the local mount stays up, its listeners waiting, while the relay reconnects after the upstream
        /// stream failed or ended (default 10; 0: end them at once, as Icecast does). A mount with a live fallback
        /// sends its listeners there instead.
        public var hold: Double
        /// With `onDemand`: seconds the relay stays connected after its mount's last listener left (default 10).
        public var onDemandLinger: Double
        /// A source logging in to the mount takes it over from the relay, listeners and all, and the relay takes
        /// it back when that source leaves (icecast-kh's "hijack"). Off by default: as in Icecast, a relayed mount
        /// is in use.
        public var yieldsToSource: Bool

        public init(
            upstreams: [RelayUpstream],
            localMount: String,
            onDemand: Bool = false,
            relayMetadata: Bool = true,
            hold: Double = 10,
            onDemandLinger: Double = 10,
            yieldsToSource: Bool = false
        ) {
            self.upstreams = upstreams
            self.localMount = localMount
            self.onDemand = onDemand
            self.relayMetadata = relayMetadata
            self.hold = hold
            self.onDemandLinger = onDemandLinger
            self.yieldsToSource = yieldsToSource
        }

        /// A relay as Icecast 2.4 writes one: one upstream by server, port and mount.
        public init(
            server: String,
            port: Int = 8000,
            mount: String = "/",
            localMount: String? = nil,
            onDemand: Bool = false,
            username: String? = nil,
            password: String? = nil,
            relayMetadata: Bool = true,
            hold: Double = 10
        ) {
            self.init(
                upstreams: [RelayUpstream(server: server, port: port, mount: mount, username: username, password: password)],
                localMount: localMount ?? mount,
                onDemand: onDemand,
                relayMetadata: relayMetadata,
                hold: hold
            )
        }
    }

    /// Where a relay pulls from: an `http://` or `https://` stream URL and the credentials it wants, if any
    /// (Icecast `<username>`/`<password>`; credentials in the URL work too).
    public struct RelayUpstream: Sendable, Equatable {
        public var url: String
        public var username: String?
        public var password: String?

        public init(url: String, username: String? = nil, password: String? = nil) {
            self.url = url
            self.username = username
            self.password = password
        }

        /// `http://server:port/mount` (an IPv6 address in brackets).
        public init(server: String, port: Int, mount: String, username: String? = nil, password: String? = nil) {
            let host = server.contains(":") ? "[\(server)]" : server
            self.init(url: "http://\(host):\(port)\(mount)", username: username, password: password)
        }
    }
}
