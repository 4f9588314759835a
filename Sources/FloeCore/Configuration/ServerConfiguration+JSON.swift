extension ServerConfiguration {
    /// The whole configuration as pretty-printed JSON, for `floe check-config`: every field, defaults included, so
    /// the output answers "what will the server actually do" without reading the model's source.
    ///
    /// - Keys are the native YAML option names (`max-listeners`, `default-mount`), so the output reads like the
    ///   file it came from, and, unredacted, loads back through ``NativeConfigurationLoader`` to the same
    ///   configuration (JSON is YAML). Objects have their keys sorted, so the output is stable and diffable;
    ///   lists keep their order.
    /// - Unset values are `null`: `"max-listeners": null` is unlimited, `"public": null` leaves it to the source.
    /// - With `redactingSecrets` (the default), every password (source, admin, relay, master, relay entries,
    ///   mounts, URL authentication) is `"********"` when set and `null` when not, so the output can be pasted
    ///   into a bug report.
    public func effectiveJSON(redactingSecrets: Bool = true) -> String {
        FloeJSON.encode(ConfigurationJSON(redactingSecrets: redactingSecrets).configuration(self), pretty: true) + "\n"
    }
}

/// Builds the JSON tree of a configuration; see ``ServerConfiguration/effectiveJSON(redactingSecrets:)``.
private struct ConfigurationJSON {
    let redactingSecrets: Bool

    func configuration(_ configuration: ServerConfiguration) -> JSONValue {
        let authentication = configuration.authentication
        let limits = configuration.limits
        let paths = configuration.paths
        let logging = configuration.logging
        return .object([
            "listen": .array(
                configuration.listenSockets.map { socket in
                    .object([
                        "port": .integer(socket.port),
                        "bind-address": .text(socket.bindAddress),
                        "shoutcast-mount": .text(socket.shoutcastMount),
                        "tls": .text(socket.tls.rawValue),
                    ])
                }
            ),
            "tls": configuration.tls.map { tls in
                .object([
                    "certificate": .text(tls.certificateFile),
                    "key": .text(tls.keyFile),
                    "ciphers": .text(tls.allowedCiphers),
                ])
            } ?? .null,
            "http-client": .object(["ca-file": .text(configuration.httpClientCAFile)]),
            "authentication": .object([
                "source-user": .text(authentication.sourceUser),
                "source-password": secret(authentication.sourcePassword),
                "admin-user": .text(authentication.adminUser),
                "admin-password": secret(authentication.adminPassword),
                "relay-user": .text(authentication.relayUser),
                "relay-password": secret(authentication.relayPassword),
            ]),
            "limits": .object([
                "clients": .integer(limits.clients),
                "sources": .integer(limits.sources),
                "queue-size": .integer(limits.queueSize),
                "burst-size": .integer(limits.burstSize),
                "queue-duration": .number(limits.queueDuration),
                "burst-duration": .number(limits.burstDuration),
                "header-timeout": .number(limits.headerTimeout),
                "source-timeout": .number(limits.sourceTimeout),
                "block-duration": .number(limits.blockDuration),
                "max-listeners-per-ip": .integer(limits.maxListenersPerIP),
                "max-pending-per-ip": .integer(limits.maxPendingPerIP),
                "redirect-when-full": .text(limits.redirectWhenFull),
            ]),
            "trusted-proxies": .array(configuration.trustedProxies.patterns.map { .text($0.description) }),
            "client-address-header": .text(configuration.clientAddressHeader.rawValue),
            "hostname": .text(configuration.hostname),
            "location": .text(configuration.location),
            "fileserve": .bool(configuration.fileserve),
            "metrics-access": .text(configuration.metricsAccess.rawValue),
            "source-credentials": .text(configuration.sourceCredentials.rawValue),
            "admin-contact": .text(configuration.adminContact),
            "server-id": .text(configuration.serverID),
            "http-headers": headers(configuration.httpHeaders),
            "paths": .object([
                "webroot": .text(paths.webroot),
                "logdir": .text(paths.logdir),
                "pidfile": .text(paths.pidfile),
                "allow-ip": .text(paths.allowIPFile),
                "deny-ip": .text(paths.denyIPFile),
                "aliases": .array(
                    paths.aliases.map {
                        .object(["source": .text($0.source), "destination": .text($0.destination)])
                    }
                ),
            ]),
            "logging": .object([
                "access-log": .text(logging.accessLog),
                "error-log": .text(logging.errorLog),
                "level": .text(logging.level),
            ]),
            "relay": relay(configuration.relay),
            "default-mount": mount(configuration.defaultMount),
            "mounts": .object(configuration.mounts.mapValues(mount)),
        ])
    }

    private func relay(_ relay: ServerConfiguration.RelaySettings) -> JSONValue {
        .object([
            "master-server": .text(relay.masterServer),
            "master-server-port": .integer(relay.masterServerPort),
            "master-username": .text(relay.masterUsername),
            "master-password": secret(relay.masterPassword),
            "master-update-interval": .number(relay.masterUpdateInterval),
            "relays-on-demand": .bool(relay.relaysOnDemand),
            "relays": .array(
                relay.relays.map { entry in
                    .object([
                        "upstreams": .array(
                            entry.upstreams.map { upstream in
                                .object([
                                    "url": .text(upstream.url),
                                    "username": .text(upstream.username),
                                    "password": secret(upstream.password),
                                ])
                            }
                        ),
                        "local-mount": .text(entry.localMount),
                        "on-demand": .bool(entry.onDemand),
                        "relay-metadata": .bool(entry.relayMetadata),
                        "hold": .number(entry.hold),
                        "on-demand-linger": .number(entry.onDemandLinger),
                        "yield-to-source": .bool(entry.yieldsToSource),
                    ])
                }
            ),
        ])
    }

    private func mount(_ mount: MountConfiguration) -> JSONValue {
        .object([
            "username": .text(mount.username),
            "password": secret(mount.password),
            "max-listeners": .integer(mount.maxListeners),
            "max-listeners-per-ip": .integer(mount.maxListenersPerIP),
            "stream-name": .text(mount.streamName),
            "stream-description": .text(mount.streamDescription),
            "stream-url": .text(mount.streamURL),
            "genre": .text(mount.genre),
            "metadata-interval": .integer(mount.metadataInterval),
            "burst-size": .integer(mount.burstSize),
            "queue-size": .integer(mount.queueSize),
            "queue-duration": .number(mount.queueDuration),
            "burst-duration": .number(mount.burstDuration),
            "source-timeout": .number(mount.sourceTimeout),
            "fallback-mount": .text(mount.fallbackMount),
            "fallback-override": .bool(mount.fallbackOverride),
            "fallback-when-full": .bool(mount.fallbackWhenFull),
            "redirect-when-full": .text(mount.redirectWhenFull),
            "max-listener-duration": .number(mount.maxListenerDuration),
            "intro": .text(mount.intro),
            "dump-file": .text(mount.dumpFile),
            "on-connect": .text(mount.onConnect),
            "on-disconnect": .text(mount.onDisconnect),
            "hidden": .bool(mount.hidden),
            "public": mount.public.map { .bool($0 != 0) } ?? .null,
            "charset": .text(mount.charset),
            "type": .text(mount.type),
            "bitrate": .text(mount.bitrate),
            "http-headers": headers(mount.httpHeaders),
            "authentication": authentication(mount.listenerAuthentication),
            "outputs": .array(mount.outputs.map(output)),
            "transcode": mount.transcode.map(transcode) ?? .null,
        ])
    }

    private func transcode(_ transcode: TranscodeConfiguration) -> JSONValue {
        .object([
            "from": .text(transcode.from),
            "bitrate": .integer(transcode.bitrate),
            "samplerate": .integer(transcode.sampleRate),
            "channels": .integer(transcode.channels),
            "mode": .text(transcode.mode.rawValue),
            "quality": .integer(transcode.quality),
            "on-demand": .bool(transcode.onDemand),
        ])
    }

    private func output(_ output: SpeakerOutputConfiguration) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .text(output.name),
            "jitter-buffer": .number(output.jitterBuffer),
            "maximum-buffer": .number(output.maximumBuffer),
            "gaps": .text(output.gaps.rawValue),
        ]
        switch output.kind {
        case .rtp(let rtp):
            fields["type"] = .text("rtp")
            fields["mode"] = .text(rtp.mode.rawValue)
            fields["address"] = .text(rtp.address)
            fields["port"] = .integer(rtp.port)
            fields["ttl"] = .integer(rtp.ttl)
            fields["interface"] = .text(rtp.interface)
            fields["mtu"] = .integer(rtp.mtu)
            if rtp.mode == .l16 {
                fields["rate"] = .integer(rtp.sampleRate)
                fields["channels"] = .integer(rtp.channels)
                fields["payload-type"] = .integer(rtp.dynamicPayloadType)
            }
        case .fec(let fec):
            fields["type"] = .text("fec")
            fields["address"] = .text(fec.address)
            fields["port"] = .integer(fec.port)
            fields["ttl"] = .integer(fec.ttl)
            fields["interface"] = .text(fec.interface)
            fields["fec"] = .text(fec.code)
            fields["gaps"] = nil
        case .playback(let playback):
            fields["type"] = .text("playback")
            fields["driver"] = .text(playback.driver)
            fields["device"] = .text(playback.device)
            fields["rate"] = .integer(playback.sampleRate)
            fields["channels"] = .integer(playback.channels)
        }
        return .object(fields)
    }

    private func authentication(_ authentication: ListenerAuthentication?) -> JSONValue {
        switch authentication {
        case nil:
            return .null
        case .htpasswd(let options)?:
            return .object([
                "type": .text("htpasswd"),
                "filename": .text(options.filename),
                "allow-duplicate-users": .bool(options.allowDuplicateUsers),
            ])
        case .url(let options)?:
            return .object([
                "type": .text("url"),
                "listener-add": .text(options.listenerAdd),
                "listener-remove": .text(options.listenerRemove),
                "username": .text(options.username),
                "password": secret(options.password),
                "auth-header": .text(options.authHeader),
                "timelimit-header": .text(options.timelimitHeader),
                "headers": .array(options.headers.map { .text($0) }),
                "header-prefix": .text(options.headerPrefix),
            ])
        }
    }

    private func headers(_ headers: [ServerConfiguration.HTTPHeaderRule]) -> JSONValue {
        .array(
            headers.map { .object(["name": .text($0.name), "value": .text($0.value), "status": .integer($0.status)]) }
        )
    }

    private func secret(_ password: String?) -> JSONValue {
        guard let password else { return .null }
        return .text(redactingSecrets ? "********" : password)
    }
}

extension JSONValue {
    /// A string, or `null` when unset.
    fileprivate static func text(_ value: String?) -> JSONValue {
        value.map { .string($0) } ?? .null
    }

    fileprivate static func integer(_ value: Int?) -> JSONValue {
        value.map { .int($0) } ?? .null
    }

    /// Whole numbers without a fraction (`15`, not `15.0`); non-finite values, which the loaders refuse, as `null`.
    fileprivate static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        if value.rounded() == value, abs(value) < 1e15 {
            return .int(Int(value))
        }
        return .double(value)
    }
}
