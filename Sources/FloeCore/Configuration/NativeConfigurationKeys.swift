/// The option tables of the native format, one per mapping, in the YAML's own (kebab-case) names. Each entry reads
/// one option with a ``YAMLValue`` reader and stores it in the model; an option not in a table is an error.
///
/// ``EmbeddedConfiguration/yaml`` documents every option here with its default; keep the two in step (a test loads
/// the embedded text and `floe.example.yaml`, and ``ServerConfiguration/effectiveJSON(redactingSecrets:)`` writes
/// the same names).
enum NativeConfigurationKeys {
    typealias Configuration = ServerConfiguration

    // MARK: - Main file

    static let root: [String: YAMLKeyRule<NativeConfigurationDraft>] = [
        "listen": { draft, value in
            let sockets = try listenSockets(value)
            draft.configuration.listenSockets = sockets
            if let index = sockets.firstIndex(where: { $0.tls != .off }) {
                let element = try value.elements()[index]
                draft.firstTLSSocket = (line: element.line, option: element.path + "/tls")
            }
        },
        "tls": { draft, value in
            draft.configuration.tls = value.isNull ? nil : try tlsSettings(value)
            if let ciphers = draft.configuration.tls?.allowedCiphers, let warning = TLSCipherList(ciphers).warning {
                draft.warnings.append(ConfigurationWarning(option: "tls/ciphers", message: warning))
            }
        },
        "http-client": { draft, value in try value.apply(httpClient, to: &draft.configuration) },
        "client-address-header": { draft, value in
            draft.configuration.clientAddressHeader =
                .init(rawValue: try value.choice(ForwardedClientAddress.Header.allCases.map(\.rawValue)))!
        },
        "trusted-proxies": { draft, value in
            draft.configuration.trustedProxies = AddressList(
                try value.elements().map { element throws(ConfigurationError) in
                    let text = try element.text()
                    guard let pattern = AddressPattern(text) else {
                        throw element.error("\"\(text)\" is not an address, a CIDR range (10.0.0.0/8) or a wildcard (192.168.1.*)")
                    }
                    return pattern
                }
            )
        },
        "authentication": { draft, value in try value.apply(authentication, to: &draft.configuration.authentication) },
        "limits": { draft, value in try value.apply(limits, to: &draft.configuration.limits) },
        "hostname": { draft, value in draft.configuration.hostname = try value.text() },
        "location": { draft, value in draft.configuration.location = try value.text() },
        "admin-contact": { draft, value in draft.configuration.adminContact = try value.text() },
        "server-id": { draft, value in draft.configuration.serverID = try value.text() },
        "fileserve": { draft, value in draft.configuration.fileserve = try value.bool() },
        "metrics-access": { draft, value in
            draft.configuration.metricsAccess = .init(rawValue: try value.choice(Configuration.MetricsAccess.allCases.map(\.rawValue)))!
        },
        "source-credentials": { draft, value in
            draft.configuration.sourceCredentials =
                .init(rawValue: try value.choice(Configuration.SourceCredentialsScope.allCases.map(\.rawValue)))!
        },
        "http-headers": { draft, value in draft.configuration.httpHeaders = try headerRules(value) },
        "paths": { draft, value in try value.apply(paths, to: &draft.configuration.paths) },
        "logging": { draft, value in try value.apply(logging, to: &draft.configuration.logging) },
        "relay": { draft, value in draft.configuration.relay = try relaySettings(value) },
        "mounts-directory": { draft, value in
            draft.mountsDirectory = try value.optionalText()
            draft.mountsDirectoryIsExplicit = true
            draft.mountsDirectoryLine = value.line
        },
        "default-mount": { draft, value in
            try value.apply(mount, to: &draft.configuration.defaultMount, hints: mountHints)
            if !draft.configuration.defaultMount.outputs.isEmpty {
                throw value.error("outputs belong to a mount, not default-mount (every mount would send to one address)")
            }
            if draft.configuration.defaultMount.relay != nil {
                throw value.error("a relay belongs to a mount, not default-mount (every mount would pull the same stream)")
            }
            draft.defaultMountOrigin = MountOrigin(value)
        },
        "mounts": { draft, value in
            let keyLines = value.keyLines
            for (path, settings) in try value.entries() {
                // The key is the mount path; its settings are labelled `mounts[/path]`.
                let labelled = YAMLValue(node: settings.node, path: "mounts[\(path)]", fileName: value.fileName)
                var origin = MountOrigin(labelled)
                origin.line = keyLines[path] ?? origin.line
                if let problem = ConfigurationValidator.pathProblem(path) {
                    throw ConfigurationError(
                        file: value.fileName,
                        line: origin.line,
                        option: labelled.path,
                        message: "the mount path \"\(path)\" \(problem)"
                    )
                }
                var mountSettings = MountConfiguration()
                try labelled.apply(mount, to: &mountSettings, hints: mountHints)
                try draft.addMount(path, mountSettings, origin: origin)
            }
        },
    ]

    static let listenSocket: [String: YAMLKeyRule<Configuration.ListenSocket>] = [
        "port": { socket, value in socket.port = try value.integer(in: 0...65535) },
        "bind-address": { socket, value in socket.bindAddress = try value.optionalText() },
        "shoutcast-mount": { socket, value in socket.shoutcastMount = value.isNull ? nil : try value.mountPath() },
        "tls": { socket, value in socket.tls = TLSMode(rawValue: try value.choice(TLSMode.allCases.map(\.rawValue)))! },
    ]

    /// `http-client:` — Floe's own requests (URL authentication, relays).
    private static let httpClient: [String: YAMLKeyRule<ServerConfiguration>] = [
        "ca-file": { configuration, value in configuration.httpClientCAFile = try value.optionalText() },
    ]

    /// `tls:` — the certificate every TLS socket presents.
    private static let tls: [String: YAMLKeyRule<TLSDraft>] = [
        "certificate": { draft, value in draft.certificateFile = try value.text() },
        "key": { draft, value in draft.keyFile = try value.optionalText() },
        "ciphers": { draft, value in draft.allowedCiphers = try value.optionalText() },
    ]

    private struct TLSDraft {
        var certificateFile: String?
        var keyFile: String?
        var allowedCiphers: String?
    }

    private static func tlsSettings(_ value: YAMLValue) throws(ConfigurationError) -> TLSCertificateSettings {
        var draft = TLSDraft()
        try value.apply(tls, to: &draft)
        guard let certificateFile = draft.certificateFile else {
            throw value.error("needs a certificate: a PEM file with the certificate chain (and the key, unless key names one)")
        }
        return TLSCertificateSettings(certificateFile: certificateFile, keyFile: draft.keyFile, allowedCiphers: draft.allowedCiphers)
    }

    static let authentication: [String: YAMLKeyRule<Configuration.Authentication>] = [
        "source-user": { authentication, value in authentication.sourceUser = try value.text() },
        "source-password": { authentication, value in authentication.sourcePassword = try value.optionalText() },
        "admin-user": { authentication, value in authentication.adminUser = try value.text() },
        "admin-password": { authentication, value in authentication.adminPassword = try value.optionalText() },
        "relay-user": { authentication, value in authentication.relayUser = try value.text() },
        "relay-password": { authentication, value in authentication.relayPassword = try value.optionalText() },
    ]

    static let limits: [String: YAMLKeyRule<Configuration.Limits>] = [
        "clients": { limits, value in limits.clients = try value.integer(in: 1...Int.max) },
        "sources": { limits, value in limits.sources = try value.integer() },
        "queue-size": { limits, value in limits.queueSize = try value.byteCount(atLeast: 1) },
        "burst-size": { limits, value in limits.burstSize = try value.byteCount() },
        "queue-duration": { limits, value in limits.queueDuration = value.isNull ? nil : try value.seconds(atMost: StreamAmount.maximumSeconds) },
        "burst-duration": { limits, value in limits.burstDuration = value.isNull ? nil : try value.seconds(allowingZero: true, atMost: StreamAmount.maximumSeconds) },
        "header-timeout": { limits, value in limits.headerTimeout = try value.seconds() },
        "source-timeout": { limits, value in limits.sourceTimeout = try value.seconds() },
        "block-duration": { limits, value in limits.blockDuration = try value.seconds(atMost: 10) },
        "max-listeners-per-ip": { limits, value in limits.maxListenersPerIP = try perAddressLimit(value) },
        "max-pending-per-ip": { limits, value in limits.maxPendingPerIP = try value.integer() },
        "redirect-when-full": { limits, value in limits.redirectWhenFull = try redirectURL(value) },
    ]

    /// `redirect-when-full`: an http(s) URL that a listener's path and query are appended to.
    private static func redirectURL(_ value: YAMLValue) throws(ConfigurationError) -> String? {
        let url = try value.optionalText()
        if let url, !(url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://")) {
            throw value.error("redirect-when-full is an http:// or https:// URL, not \"\(url)\"")
        }
        return url.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    static let paths: [String: YAMLKeyRule<Configuration.Paths>] = [
        "webroot": { paths, value in paths.webroot = try value.text() },
        "logdir": { paths, value in paths.logdir = try value.text() },
        "pidfile": { paths, value in paths.pidfile = try value.optionalText() },
        "allow-ip": { paths, value in paths.allowIPFile = try value.optionalText() },
        "deny-ip": { paths, value in paths.denyIPFile = try value.optionalText() },
        "aliases": { paths, value in
            paths.aliases = try value.elements().map { element throws(ConfigurationError) in
                var alias = AliasDraft()
                try element.apply(aliasKeys, to: &alias)
                guard let source = alias.source, let destination = alias.destination else {
                    throw element.error("an alias needs both a source and a destination")
                }
                return Configuration.Alias(source: source, destination: destination)
            }
        },
    ]

    private struct AliasDraft {
        var source: String?
        var destination: String?
    }

    private static let aliasKeys: [String: YAMLKeyRule<AliasDraft>] = [
        "source": { alias, value in alias.source = try value.mountPath() },
        "destination": { alias, value in alias.destination = try value.mountPath() },
    ]

    static let logging: [String: YAMLKeyRule<Configuration.Logging>] = [
        "access-log": { logging, value in logging.accessLog = try value.optionalText() },
        "error-log": { logging, value in logging.errorLog = try value.text() },
        "level": { logging, value in logging.level = try value.choice(["debug", "info", "warning", "error"]) },
    ]

    // MARK: - Relays

    /// The relay section, with `on-demand` of each relay resolved against `relays-on-demand` wherever that is
    /// written in the section.
    private static func relaySettings(_ value: YAMLValue) throws(ConfigurationError) -> Configuration.RelaySettings {
        var draft = RelaySettingsDraft()
        try value.apply(relay, to: &draft)
        draft.settings.relays = draft.relays.map { entry in
            var relay = entry.relay
            relay.onDemand = entry.onDemand ?? draft.settings.relaysOnDemand
            return relay
        }
        return draft.settings
    }

    private struct RelaySettingsDraft {
        var settings = Configuration.RelaySettings()
        var relays: [(relay: Configuration.Relay, onDemand: Bool?)] = []
    }

    private static let relay: [String: YAMLKeyRule<RelaySettingsDraft>] = [
        "master-server": { draft, value in draft.settings.masterServer = try value.optionalText() },
        "master-server-port": { draft, value in
            draft.settings.masterServerPort = value.isNull ? nil : try value.integer(in: 1...65535)
        },
        "master-username": { draft, value in draft.settings.masterUsername = try value.text() },
        "master-password": { draft, value in draft.settings.masterPassword = try value.optionalText() },
        "master-update-interval": { draft, value in draft.settings.masterUpdateInterval = try value.seconds() },
        "relays-on-demand": { draft, value in draft.settings.relaysOnDemand = try value.bool() },
        "relays": { draft, value in
            draft.relays = try value.elements().map { element throws(ConfigurationError) in
                try relayEntry(element, localMountFromFile: nil)
            }
        },
    ]

    /// One relay as YAML writes it: by `server`/`port`/`mount` (Icecast's fields) or by `upstreams`, and the
    /// `on-demand` it states, if any. In a mount file (`localMountFromFile`) the local mount is that file's.
    static func relayEntry(
        _ element: YAMLValue,
        localMountFromFile: String?
    ) throws(ConfigurationError) -> (relay: Configuration.Relay, onDemand: Bool?) {
        var entry = RelayDraft()
        try element.apply(relayEntry, to: &entry)
        let upstreams: [Configuration.RelayUpstream]
        switch (entry.server, entry.upstreams.isEmpty) {
        case (let server?, true):
            upstreams = [.init(server: server, port: entry.port, mount: entry.mount, username: entry.username, password: entry.password)]
        case (nil, false):
            upstreams = entry.upstreams
        case (nil, true):
            throw element.error("a relay needs a server, or upstreams")
        case (_?, false):
            throw element.error("a relay names its upstream by server or by upstreams, not both")
        }
        if localMountFromFile != nil, entry.localMount != nil {
            throw element.error("a mount file's relay serves that mount; local-mount belongs in the main file's relays")
        }
        guard let localMount = localMountFromFile ?? entry.localMount ?? (entry.server != nil ? entry.mount : nil) else {
            throw element.error("a relay with upstreams needs a local-mount")
        }
        let relay = Configuration.Relay(
            upstreams: upstreams,
            localMount: localMount,
            relayMetadata: entry.relayMetadata,
            hold: entry.hold,
            onDemandLinger: entry.onDemandLinger,
            yieldsToSource: entry.yieldsToSource
        )
        return (relay, entry.onDemand)
    }

    private struct RelayDraft {
        var server: String?
        var port = 8000
        var mount = "/"
        var localMount: String?
        var onDemand: Bool?
        var username: String?
        var password: String?
        var relayMetadata = true
        var hold = 10.0
        var onDemandLinger = 10.0
        var yieldsToSource = false
        var upstreams: [Configuration.RelayUpstream] = []
    }

    private static let relayEntry: [String: YAMLKeyRule<RelayDraft>] = [
        "server": { entry, value in entry.server = try value.text() },
        "port": { entry, value in entry.port = try value.integer(in: 1...65535) },
        "mount": { entry, value in entry.mount = try value.mountPath() },
        "local-mount": { entry, value in entry.localMount = value.isNull ? nil : try value.mountPath() },
        "on-demand": { entry, value in entry.onDemand = try value.bool() },
        "username": { entry, value in entry.username = try value.optionalText() },
        "password": { entry, value in entry.password = try value.optionalText() },
        "relay-metadata": { entry, value in entry.relayMetadata = try value.bool() },
        "metadata": { entry, value in entry.relayMetadata = try value.bool() },
        "hold": { entry, value in entry.hold = try value.seconds(allowingZero: true) },
        "on-demand-linger": { entry, value in entry.onDemandLinger = try value.seconds(allowingZero: true) },
        "yield-to-source": { entry, value in entry.yieldsToSource = try value.bool() },
        "upstreams": { entry, value in
            entry.upstreams = try value.elements().map { element throws(ConfigurationError) in
                if let url = try? element.text() { return try relayUpstream(url: url, at: element) }
                var upstream = Configuration.RelayUpstream(url: "")
                try element.apply(relayUpstream, to: &upstream)
                guard !upstream.url.isEmpty else { throw element.error("an upstream needs a url") }
                return try relayUpstream(url: upstream.url, at: element, username: upstream.username, password: upstream.password)
            }
        },
    ]

    /// An upstream given as a map: `{ url: …, username: …, password: … }`.
    private static let relayUpstream: [String: YAMLKeyRule<Configuration.RelayUpstream>] = [
        "url": { upstream, value in upstream.url = try value.text() },
        "username": { upstream, value in upstream.username = try value.optionalText() },
        "password": { upstream, value in upstream.password = try value.optionalText() },
    ]

    /// An upstream URL, which must be `http://` or `https://` with a host.
    private static func relayUpstream(
        url: String,
        at value: YAMLValue,
        username: String? = nil,
        password: String? = nil
    ) throws(ConfigurationError) -> Configuration.RelayUpstream {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), url.split(separator: "/").count >= 2 else {
            throw value.error("an upstream is an http:// or https:// URL, not \"\(url)\"")
        }
        return Configuration.RelayUpstream(url: url, username: username, password: password)
    }

    // MARK: - Mounts

    /// Options of a mount: a mount file, an entry under `mounts`, or `default-mount`.
    static let mount: [String: YAMLKeyRule<MountConfiguration>] = [
        "username": { mount, value in mount.username = try value.optionalText() },
        "password": { mount, value in mount.password = try value.optionalText() },
        "max-listeners": { mount, value in mount.maxListeners = try value.integerOrUnlimited() },
        "max-listeners-per-ip": { mount, value in mount.maxListenersPerIP = try perAddressLimit(value) },
        "stream-name": { mount, value in mount.streamName = try value.optionalText() },
        "stream-description": { mount, value in mount.streamDescription = try value.optionalText() },
        "stream-url": { mount, value in mount.streamURL = try value.optionalText() },
        "genre": { mount, value in mount.genre = try value.optionalText() },
        "metadata-interval": { mount, value in
            mount.metadataInterval = value.isNull ? nil : try value.integer(in: 1...Int.max)
        },
        "burst-size": { mount, value in mount.burstSize = value.isNull ? nil : try value.byteCount() },
        "queue-size": { mount, value in mount.queueSize = value.isNull ? nil : try value.byteCount(atLeast: 1) },
        "queue-duration": { mount, value in mount.queueDuration = value.isNull ? nil : try value.seconds(atMost: StreamAmount.maximumSeconds) },
        "burst-duration": { mount, value in mount.burstDuration = value.isNull ? nil : try value.seconds(allowingZero: true, atMost: StreamAmount.maximumSeconds) },
        "source-timeout": { mount, value in mount.sourceTimeout = value.isNull ? nil : try value.seconds() },
        "fallback-mount": { mount, value in mount.fallbackMount = value.isNull ? nil : try value.mountPath() },
        "fallback-override": { mount, value in mount.fallbackOverride = try value.bool() },
        "fallback-when-full": { mount, value in mount.fallbackWhenFull = try value.bool() },
        "redirect-when-full": { mount, value in mount.redirectWhenFull = try redirectURL(value) },
        "max-listener-duration": { mount, value in mount.maxListenerDuration = try value.secondsOrUnlimited() },
        "intro": { mount, value in mount.intro = try value.optionalText() },
        "dump-file": { mount, value in mount.dumpFile = try value.optionalText() },
        "on-connect": { mount, value in mount.onConnect = try value.optionalText() },
        "on-disconnect": { mount, value in mount.onDisconnect = try value.optionalText() },
        "hidden": { mount, value in mount.hidden = try value.bool() },
        // Icecast's -1 ("the source decides") is `null` here, or leaving the option out.
        "public": { mount, value in
            guard !value.isNull else {
                mount.public = nil
                return
            }
            guard let visible = try? value.bool() else {
                throw value.error("expected true, false, or ~ (the source decides), got \(value.described)")
            }
            mount.public = visible ? 1 : 0
        },
        "charset": { mount, value in mount.charset = try value.optionalText() },
        "type": { mount, value in mount.type = value.isNull ? nil : try contentType(value) },
        "bitrate": { mount, value in mount.bitrate = try value.optionalText() },
        "http-headers": { mount, value in mount.httpHeaders = try headerRules(value) },
        "authentication": { mount, value in
            mount.listenerAuthentication = value.isNull ? nil : try listenerAuthentication(value)
        },
        "outputs": { mount, value in mount.outputs = try speakerOutputs(value) },
        "hls": { mount, value in mount.hls = try hls(value) },
        "transcode": { mount, value in mount.transcode = try transcode(value) },
        "relay": { mount, value in
            // The local mount is the mount's own; the loader sets it when the configuration is finished.
            let (relay, onDemand) = try relayEntry(value, localMountFromFile: "")
            mount.relay = .init(relay: relay, onDemand: onDemand)
        },
    ]

    /// A mount's HLS settings: a mapping of `hls` options, or `false` (`off`) for none, `~` for the defaults.
    private static func hls(_ value: YAMLValue) throws(ConfigurationError) -> HLSConfiguration? {
        if value.isNull { return nil }
        if let enabled = try? value.bool() { return HLSConfiguration(enabled: enabled) }
        var settings = HLSConfiguration()
        try value.apply(hlsKeys, to: &settings)
        if let part = settings.partDuration, part > settings.segmentDuration {
            throw value.error("part-duration (\(part.seconds) s) is longer than segment-duration (\(settings.segmentDuration.seconds) s)")
        }
        return settings
    }

    static let hlsKeys: [String: YAMLKeyRule<HLSConfiguration>] = [
        "enabled": { hls, value in hls.enabled = try value.bool() },
        "segment-duration": { hls, value in
            hls.segmentDuration = .milliseconds(Int64((try value.seconds(atMost: 60) * 1000).rounded()))
            if hls.segmentDuration < .milliseconds(100) { throw value.error("a segment lasts at least 0.1 s") }
        },
        "window": { hls, value in hls.window = try value.integer(in: HLSConfiguration.minimumWindow...1000) },
        "format": { hls, value in
            let text = try value.text()
            guard let format = HLSConfiguration.Format(rawValue: text) else {
                throw value.error("expected ts or packed, got \"\(text)\"")
            }
            hls.format = format
        },
        // `~` or `false`: plain HLS, without Low-Latency parts.
        "part-duration": { hls, value in
            if value.isNull || (try? value.bool()) == false {
                hls.partDuration = nil
                return
            }
            let part = Duration.milliseconds(Int64((try value.seconds(atMost: 60) * 1000).rounded()))
            // Parts but a segment's last must last 85 % of the target: a part of whole frames needs room for several.
            if part < .milliseconds(200) { throw value.error("a part lasts at least 0.2 s") }
            hls.partDuration = part
        },
    ]

    /// A mount's transcoding: a mapping read by ``TranscodeConfiguration/init(options:)``; `~` for none.
    private static func transcode(_ value: YAMLValue) throws(ConfigurationError) -> TranscodeConfiguration? {
        if value.isNull { return nil }
        var options: [(key: String, value: String)] = []
        var lines: [String: YAMLValue] = [:]
        for (key, option) in try value.entries() {
            options.append((key, try option.text()))
            lines[key] = option
        }
        do throws(TranscodeConfiguration.OptionError) {
            return try TranscodeConfiguration(options: options)
        } catch {
            let place = lines[error.option] ?? value
            throw ConfigurationError(file: place.fileName, line: place.line, option: "\(value.path)/\(error.option)", message: error.message)
        }
    }

    /// A mount's speaker outputs: a list of mappings, each read by ``SpeakerOutputConfiguration/init(options:defaultName:)``.
    private static func speakerOutputs(_ value: YAMLValue) throws(ConfigurationError) -> [SpeakerOutputConfiguration] {
        if value.isNull { return [] }
        let name = SpeakerOutputConfiguration.defaultNamer()
        var outputs: [SpeakerOutputConfiguration] = []
        for (index, element) in try value.elements().enumerated() {
            var options: [(key: String, value: String)] = []
            var lines: [String: YAMLValue] = [:]
            for (key, option) in try element.entries() {
                options.append((key, try option.text()))
                lines[key] = option
            }
            do throws(SpeakerOutputConfiguration.OptionError) {
                let output = try SpeakerOutputConfiguration(options: options, defaultName: name)
                if outputs.contains(where: { $0.name == output.name }) {
                    throw SpeakerOutputConfiguration.OptionError(
                        option: "name",
                        message: "another output of this mount is already named \"\(output.name)\"; names must differ"
                    )
                }
                outputs.append(output)
            } catch {
                let place = lines[error.option] ?? element
                throw ConfigurationError(
                    file: place.fileName,
                    line: place.line,
                    option: "\(value.path)[\(index)]" + (error.option.isEmpty ? "" : "/\(error.option)"),
                    message: error.message
                )
            }
        }
        return outputs
    }

    /// Listener authentication: `type: htpasswd` or `type: url`, then that type's options.
    private static func listenerAuthentication(
        _ value: YAMLValue
    ) throws(ConfigurationError) -> ListenerAuthentication {
        guard let type = try value.entries().first(where: { $0.key == "type" })?.value else {
            throw value.error("listener authentication needs a type: htpasswd or url")
        }
        switch try type.choice(["htpasswd", "url"]) {
        case "htpasswd":
            var draft = HTPasswdDraft()
            try value.apply(htpasswd, to: &draft)
            guard let filename = draft.filename else {
                throw value.error("htpasswd authentication needs a filename (the users file)")
            }
            return .htpasswd(HTPasswdOptions(filename: filename, allowDuplicateUsers: draft.allowDuplicateUsers))
        default:
            var options = URLAuthenticationOptions()
            try value.apply(urlAuthentication, to: &options)
            guard options.listenerAdd != nil else {
                throw value.error("url authentication needs listener-add, the URL that admits listeners")
            }
            return .url(options)
        }
    }

    private struct HTPasswdDraft {
        var filename: String?
        var allowDuplicateUsers = true
    }

    private static let htpasswd: [String: YAMLKeyRule<HTPasswdDraft>] = [
        "type": { _, _ in },  // Read first, by listenerAuthentication.
        "filename": { draft, value in draft.filename = try value.text() },
        "allow-duplicate-users": { draft, value in draft.allowDuplicateUsers = try value.bool() },
    ]

    private static let urlAuthentication: [String: YAMLKeyRule<URLAuthenticationOptions>] = [
        "type": { _, _ in },  // Read first, by listenerAuthentication.
        "listener-add": { options, value in options.listenerAdd = try url(value) },
        "listener-remove": { options, value in options.listenerRemove = try url(value) },
        "username": { options, value in options.username = try value.optionalText() },
        "password": { options, value in options.password = try value.optionalText() },
        "auth-header": { options, value in options.authHeader = try value.text() },
        "timelimit-header": { options, value in options.timelimitHeader = try value.text() },
        "headers": { options, value in options.headers = try value.elements().map { try $0.text() } },
        "header-prefix": { options, value in options.headerPrefix = try value.text() },
    ]

    /// A media type such as `audio/mpeg`: two non-empty parts around one `/`, no spaces.
    private static func contentType(_ value: YAMLValue) throws(ConfigurationError) -> String {
        let type = try value.text()
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !type.contains(where: \.isWhitespace) else {
            throw value.error("expected a content type such as audio/mpeg, got \"\(type)\"")
        }
        return type
    }

    private static func url(_ value: YAMLValue) throws(ConfigurationError) -> String? {
        guard let url = try value.optionalText() else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw value.error("expected an http:// or https:// URL, got \"\(url)\"")
        }
        return url
    }

    // MARK: - Shared lists

    /// `listen`: one or more sockets, no two on the same port (counting the SHOUTcast port, `port + 1`).
    private static func listenSockets(_ value: YAMLValue) throws(ConfigurationError) -> [Configuration.ListenSocket] {
        var sockets: [Configuration.ListenSocket] = []
        // Ports taken so far: address (`nil` is every interface), port, and which entry took it.
        var taken: [(address: String?, port: Int, entry: String)] = []
        for element in try value.elements() {
            var socket = Configuration.ListenSocket()
            try element.apply(listenSocket, to: &socket)
            var ports = [socket.port]
            if socket.shoutcastMount != nil {
                guard socket.port != 0, socket.port < 65535 else {
                    throw element.error("shoutcast-mount also opens port + 1, so it needs a port from 1 to 65534")
                }
                ports.append(socket.port + 1)
            }
            for port in ports where port != 0 {
                if let clash = taken.first(where: {
                    $0.port == port
                        && ($0.address == nil || socket.bindAddress == nil || $0.address == socket.bindAddress)
                }) {
                    throw element.error("port \(port) is already used by \(clash.entry)")
                }
                taken.append((socket.bindAddress, port, element.path))
            }
            sockets.append(socket)
        }
        guard !sockets.isEmpty else {
            throw value.error("needs at least one socket, e.g. \"- port: 8000\"")
        }
        return sockets
    }

    private struct HeaderDraft {
        var name: String?
        var value: String?
        var status: Int?
    }

    private static let header: [String: YAMLKeyRule<HeaderDraft>] = [
        "name": { header, value in
            let name = try value.text()
            guard name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ":" && !$0.isNewline }) else {
                throw value.error("a header name must not contain spaces or \":\", got \"\(name)\"")
            }
            header.name = name
        },
        "value": { header, value in header.value = try value.text(allowEmpty: true) },
        "status": { header, value in header.status = value.isNull ? nil : try value.integer(in: 100...599) },
    ]

    /// `http-headers`: a list of `{name, value, status}`; `status` (optional) limits a header to that status.
    private static func headerRules(_ value: YAMLValue) throws(ConfigurationError) -> [Configuration.HTTPHeaderRule] {
        try value.elements().map { element throws(ConfigurationError) in
            var draft = HeaderDraft()
            try element.apply(header, to: &draft)
            guard let name = draft.name, let headerValue = draft.value else {
                throw element.error("a header needs a name and a value")
            }
            return Configuration.HTTPHeaderRule(name: name, value: headerValue, status: draft.status)
        }
    }

    // MARK: - Hints for options in the wrong place

    /// For an unknown option at the top of the main file: where it belongs, when it is an option of a section or a
    /// mount, or the native name of an Icecast element.
    static let rootHints: [String: String] = {
        var hints: [String: String] = [:]
        for key in mount.keys {
            hints[key] = "\"\(key)\" is a mount option: put it under default-mount, under mounts, or in a mount file"
        }
        let sections: [(String, [String])] = [
            ("listen", Array(listenSocket.keys)), ("authentication", Array(authentication.keys)),
            ("limits", Array(limits.keys)), ("paths", Array(paths.keys)), ("logging", Array(logging.keys)),
            ("relay", Array(relay.keys)),
        ]
        for (section, keys) in sections {
            for key in keys {
                hints[key] = "\"\(key)\" belongs under \(section)"
            }
        }
        hints["admin"] = "did you mean \"admin-contact\"?"
        hints["listen-socket"] = "did you mean \"listen\"?"
        hints["mount"] = "mounts are configured in mount files, under mounts, or under default-mount"
        hints["accesslog"] = "\"access-log\" belongs under logging"
        hints["errorlog"] = "\"error-log\" belongs under logging"
        hints["loglevel"] = "\"level\" belongs under logging"
        return hints
    }()

    /// For an unknown option of a mount: the native name of an Icecast element, or a server option out of place.
    static let mountHints: [String: String] = {
        var hints: [String: String] = [:]
        for key in root.keys {
            hints[key] = "\"\(key)\" is a server option and belongs in the main configuration file, not in a mount"
        }
        hints["mp3-metadata-interval"] = "did you mean \"metadata-interval\"?"
        hints["mount-name"] =
            "a mount's path is its file name (mounts/live.yaml configures /live) or its key under mounts"
        return hints
    }()

    /// A per-address listener limit: at least 1 (0 would refuse everyone), or unlimited.
    static func perAddressLimit(_ value: YAMLValue) throws(ConfigurationError) -> Int? {
        let limit = try value.integerOrUnlimited()
        if let limit, limit < 1 { throw value.error("expected 1 or more, or unlimited, got \(limit)") }
        return limit
    }
}
