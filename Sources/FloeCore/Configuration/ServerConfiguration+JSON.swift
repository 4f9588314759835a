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
        JSONWriter.render(ConfigurationJSON(redactingSecrets: redactingSecrets).configuration(self)) + "\n"
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
                        "port": .int(socket.port),
                        "bind-address": .string(socket.bindAddress),
                        "shoutcast-mount": .string(socket.shoutcastMount),
                    ])
                }
            ),
            "authentication": .object([
                "source-user": .string(authentication.sourceUser),
                "source-password": secret(authentication.sourcePassword),
                "admin-user": .string(authentication.adminUser),
                "admin-password": secret(authentication.adminPassword),
                "relay-user": .string(authentication.relayUser),
                "relay-password": secret(authentication.relayPassword),
            ]),
            "limits": .object([
                "clients": .int(limits.clients),
                "sources": .int(limits.sources),
                "queue-size": .int(limits.queueSize),
                "burst-size": .int(limits.burstSize),
                "header-timeout": .double(limits.headerTimeout),
                "source-timeout": .double(limits.sourceTimeout),
                "block-duration": .double(limits.blockDuration),
            ]),
            "hostname": .string(configuration.hostname),
            "location": .string(configuration.location),
            "fileserve": .bool(configuration.fileserve),
            "admin-contact": .string(configuration.adminContact),
            "server-id": .string(configuration.serverID),
            "http-headers": headers(configuration.httpHeaders),
            "paths": .object([
                "webroot": .string(paths.webroot),
                "logdir": .string(paths.logdir),
                "pidfile": .string(paths.pidfile),
                "aliases": .array(
                    paths.aliases.map {
                        .object(["source": .string($0.source), "destination": .string($0.destination)])
                    }
                ),
            ]),
            "logging": .object([
                "access-log": .string(logging.accessLog),
                "error-log": .string(logging.errorLog),
                "level": .string(logging.level),
            ]),
            "relay": relay(configuration.relay),
            "default-mount": mount(configuration.defaultMount),
            "mounts": .object(configuration.mounts.mapValues(mount)),
        ])
    }

    private func relay(_ relay: ServerConfiguration.RelaySettings) -> JSONValue {
        .object([
            "master-server": .string(relay.masterServer),
            "master-server-port": .int(relay.masterServerPort),
            "master-username": .string(relay.masterUsername),
            "master-password": secret(relay.masterPassword),
            "master-update-interval": .double(relay.masterUpdateInterval),
            "relays-on-demand": .bool(relay.relaysOnDemand),
            "relays": .array(
                relay.relays.map { entry in
                    .object([
                        "server": .string(entry.server),
                        "port": .int(entry.port),
                        "mount": .string(entry.mount),
                        "local-mount": .string(entry.localMount),
                        "on-demand": .bool(entry.onDemand),
                        "username": .string(entry.username),
                        "password": secret(entry.password),
                        "relay-metadata": .bool(entry.relayMetadata),
                    ])
                }
            ),
        ])
    }

    private func mount(_ mount: MountConfiguration) -> JSONValue {
        .object([
            "username": .string(mount.username),
            "password": secret(mount.password),
            "max-listeners": .int(mount.maxListeners),
            "stream-name": .string(mount.streamName),
            "stream-description": .string(mount.streamDescription),
            "stream-url": .string(mount.streamURL),
            "genre": .string(mount.genre),
            "metadata-interval": .int(mount.metadataInterval),
            "burst-size": .int(mount.burstSize),
            "queue-size": .int(mount.queueSize),
            "source-timeout": .double(mount.sourceTimeout),
            "fallback-mount": .string(mount.fallbackMount),
            "fallback-override": .bool(mount.fallbackOverride),
            "fallback-when-full": .bool(mount.fallbackWhenFull),
            "max-listener-duration": .double(mount.maxListenerDuration),
            "intro": .string(mount.intro),
            "dump-file": .string(mount.dumpFile),
            "on-connect": .string(mount.onConnect),
            "on-disconnect": .string(mount.onDisconnect),
            "hidden": .bool(mount.hidden),
            "public": mount.public.map { .bool($0 != 0) } ?? .null,
            "charset": .string(mount.charset),
            "type": .string(mount.type),
            "bitrate": .string(mount.bitrate),
            "http-headers": headers(mount.httpHeaders),
            "authentication": authentication(mount.listenerAuthentication),
            "outputs": .array(mount.outputs.map(output)),
        ])
    }

    private func output(_ output: SpeakerOutputConfiguration) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(output.name),
            "jitter-buffer": .double(output.jitterBuffer),
            "maximum-buffer": .double(output.maximumBuffer),
            "gaps": .string(output.gaps.rawValue),
        ]
        switch output.kind {
        case .rtp(let rtp):
            fields["type"] = .string("rtp")
            fields["mode"] = .string(rtp.mode.rawValue)
            fields["address"] = .string(rtp.address)
            fields["port"] = .int(rtp.port)
            fields["ttl"] = .int(rtp.ttl)
            fields["interface"] = .string(rtp.interface)
            fields["mtu"] = .int(rtp.mtu)
            if rtp.mode == .l16 {
                fields["rate"] = .int(rtp.sampleRate)
                fields["channels"] = .int(rtp.channels)
                fields["payload-type"] = .int(rtp.dynamicPayloadType)
            }
        case .fec(let fec):
            fields["type"] = .string("fec")
            fields["address"] = .string(fec.address)
            fields["port"] = .int(fec.port)
            fields["ttl"] = .int(fec.ttl)
            fields["interface"] = .string(fec.interface)
            fields["fec"] = .string(fec.code)
            fields["gaps"] = nil
        case .playback(let playback):
            fields["type"] = .string("playback")
            fields["driver"] = .string(playback.driver)
            fields["device"] = .string(playback.device)
            fields["rate"] = .int(playback.sampleRate)
            fields["channels"] = .int(playback.channels)
        }
        return .object(fields)
    }

    private func authentication(_ authentication: ListenerAuthentication?) -> JSONValue {
        switch authentication {
        case nil:
            return .null
        case .htpasswd(let options)?:
            return .object([
                "type": .string("htpasswd"),
                "filename": .string(options.filename),
                "allow-duplicate-users": .bool(options.allowDuplicateUsers),
            ])
        case .url(let options)?:
            return .object([
                "type": .string("url"),
                "listener-add": .string(options.listenerAdd),
                "listener-remove": .string(options.listenerRemove),
                "username": .string(options.username),
                "password": secret(options.password),
                "auth-header": .string(options.authHeader),
                "timelimit-header": .string(options.timelimitHeader),
                "headers": .array(options.headers.map { .string($0) }),
                "header-prefix": .string(options.headerPrefix),
            ])
        }
    }

    private func headers(_ headers: [ServerConfiguration.HTTPHeaderRule]) -> JSONValue {
        .array(
            headers.map { .object(["name": .string($0.name), "value": .string($0.value), "status": .int($0.status)]) }
        )
    }

    private func secret(_ password: String?) -> JSONValue {
        guard let password else { return .null }
        return .string(redactingSecrets ? "********" : password)
    }
}

/// A JSON value, reduced to what a configuration needs.
private indirect enum JSONValue {
    case null
    case bool(Bool)
    /// A number, already written out.
    case number(String)
    case text(String)
    case array([JSONValue])
    case object([String: JSONValue])

    static func string(_ value: String?) -> JSONValue {
        value.map { .text($0) } ?? .null
    }

    static func int(_ value: Int?) -> JSONValue {
        value.map { .number(String($0)) } ?? .null
    }

    /// Whole numbers without a fraction (`15`, not `15.0`); non-finite values, which the loaders refuse, as `null`.
    static func double(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        if value.rounded() == value, abs(value) < 1e15 {
            return .number(String(Int(value)))
        }
        return .number(String(value))
    }
}

/// Writes a ``JSONValue`` pretty-printed with two-space indents and sorted object keys.
private enum JSONWriter {
    static func render(_ value: JSONValue) -> String {
        var output = ""
        write(value, indent: "", to: &output)
        return output
    }

    private static func write(_ value: JSONValue, indent: String, to output: inout String) {
        let inner = indent + "  "
        switch value {
        case .null:
            output += "null"
        case .bool(let flag):
            output += flag ? "true" : "false"
        case .number(let number):
            output += number
        case .text(let text):
            output += quoted(text)
        case .array(let elements):
            guard !elements.isEmpty else { return output += "[]" }
            output += "[\n"
            for (index, element) in elements.enumerated() {
                output += inner
                write(element, indent: inner, to: &output)
                output += index == elements.count - 1 ? "\n" : ",\n"
            }
            output += indent + "]"
        case .object(let members):
            guard !members.isEmpty else { return output += "{}" }
            output += "{\n"
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                output += inner + quoted(key) + ": "
                write(members[key]!, indent: inner, to: &output)
                output += index == keys.count - 1 ? "\n" : ",\n"
            }
            output += indent + "}"
        }
    }

    /// A JSON string literal (escaping shared with the status documents).
    private static func quoted(_ text: String) -> String {
        "\"" + JSONText.escape(text) + "\""
    }
}
