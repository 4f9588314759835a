import Foundation
import Testing

@testable import FloeCore

@Suite("Native configuration loader")
struct NativeConfigurationLoaderTests {
    private typealias ListenSocket = ServerConfiguration.ListenSocket

    /// The repository checkout, found from this file's path: `Tests/FloeCoreTests/<this file>`.
    private static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func load(_ yaml: String) throws(ConfigurationError) -> LoadedConfiguration {
        try NativeConfigurationLoader().load(yaml: yaml, fileName: "floe.yaml")
    }

    /// The error `yaml` fails with, or `nil` (after recording a failure) if it loads.
    private func loadError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) { try load(yaml) }
    }

    // MARK: - TLS

    @Test func tlsPerSocketAndOneCertificate() throws {
        let loaded = try load(
            """
            listen:
              - port: 8000
                tls: auto
              - port: 8443
                tls: on
              - port: 8080
                tls: off
            tls:
              certificate: /etc/floe/fullchain.pem
              key: /etc/floe/privkey.pem
              ciphers: ECDHE-ECDSA-AES128-GCM-SHA256
            """
        )
        #expect(loaded.configuration.listenSockets.map(\.tls) == [.auto, .on, .off])
        #expect(
            loaded.configuration.tls
                == TLSCertificateSettings(
                    certificateFile: "/etc/floe/fullchain.pem",
                    keyFile: "/etc/floe/privkey.pem",
                    allowedCiphers: "ECDHE-ECDSA-AES128-GCM-SHA256"
                )
        )
    }

    @Test func burstAndQueueInSecondsWinAtTheirLevel() throws {
        let configuration = try load(
            """
            limits: { burst-size: 32 KiB, burst-duration: 3, queue-duration: 20 }
            mounts:
              /bytes: { burst-size: 8 KiB }
              /seconds: { burst-size: 8 KiB, burst-duration: 0.5, queue-size: 1 MiB }
            """
        ).configuration
        #expect(configuration.burst(forMount: "/other") == .duration(.seconds(3)))
        #expect(configuration.burst(forMount: "/bytes") == .bytes(8192))
        #expect(configuration.burst(forMount: "/seconds") == .duration(.milliseconds(500)))
        #expect(configuration.queueCapacity(forMount: "/other") == .duration(.seconds(20)))
        #expect(configuration.queueCapacity(forMount: "/seconds") == .bytes(1 << 20))
        #expect(loadError("limits:\n  queue-duration: 0\n")?.option == "limits/queue-duration")
    }

    @Test func transcodedMountsNameAConfiguredOriginOtherThanThemselves() throws {
        let configuration = try load(
            """
            mounts:
              /live: {}
              /live-64:
                transcode: { from: /live, bitrate: 64, samplerate: 22050, channels: 1, mode: abr, quality: 2, on-demand: true }
            """
        ).configuration
        var expected = TranscodeConfiguration(from: "/live", bitrate: 64, sampleRate: 22_050, channels: 1, mode: .abr, quality: 2)
        expected.onDemand = true
        #expect(configuration.mounts["/live-64"]?.transcode == expected)
        #expect(loadError("mounts:\n  /a:\n    transcode: { from: /a }\n")?.message.contains("cannot be transcoded from itself") == true)
        #expect(loadError("mounts:\n  /a:\n    transcode: { from: /nope }\n")?.message.contains("no such mount") == true)
        let throughDerived = "mounts:\n  /l:\n    fallback-mount: /l-64\n  /l-64:\n    transcode: { from: /l }\n"
        #expect(loadError(throughDerived)?.message.contains("/l falls back to /l-64") == true)
        let loop = "mounts:\n  /a:\n    transcode: { from: /b }\n  /b:\n    transcode: { from: /a }\n"
        #expect(loadError(loop)?.message.contains("transcode loop") == true)
        let badRate = loadError("mounts:\n  /l: {}\n  /a:\n    transcode: { from: /l, samplerate: 23000 }\n")
        #expect(badRate?.option == "mounts[/a]/transcode/samplerate")
        #expect(loadError("mounts:\n  /l: {}\n  /a:\n    transcode: { from: /l, bitrat: 64 }\n")?.message.contains("unknown transcode option") == true)
    }

    @Test func aSpeakerOutputOnAMountDeclaredAsAACIsAnError() {
        let yaml = "mounts:\n  /aac:\n    type: audio/aac\n    outputs:\n      - { type: rtp, mode: mpa, address: 127.0.0.1, port: 5004 }\n"
        let error = loadError(yaml)
        #expect(error?.message.contains("plays MPEG audio, and this mount's type is audio/aac") == true, "\(String(describing: error))")
    }

    @Test func hlsSettingsPerMount() throws {
        let configuration = try load(
            """
            mounts:
              /live:
                hls:
                  segment-duration: 4
                  window: 5
                  part-duration: ~
                  format: packed
              /off:
                hls: false
              /default: {}
            """
        ).configuration
        var expected = HLSConfiguration(segmentDuration: .seconds(4), window: 5, partDuration: nil)
        expected.format = .packed
        #expect(configuration.mount("/live").hlsSettings == expected)
        #expect(configuration.mount("/off").hlsSettings.enabled == false)
        #expect(configuration.mount("/default").hlsSettings == HLSConfiguration())
        let error = try #require(loadError("mounts:\n  /a:\n    hls:\n      window: 2\n"))
        #expect(error.option == "mounts[/a]/hls/window")
        #expect(loadError("mounts:\n  /a:\n    hls:\n      segment-lenght: 2\n")?.message.contains("unknown option") == true)
    }

    @Test func tlsSocketWithoutCertificateIsAnError() throws {
        let error = try #require(loadError("listen:\n  - port: 80\n  - port: 8443\n    tls: on\n"))
        #expect(error.option == "listen[1]/tls")
        #expect(error.line == 3)
        #expect(error.message.contains("needs a certificate"))
    }

    @Test func tlsWithoutCertificateFileIsAnError() throws {
        let error = try #require(loadError("tls:\n  key: /etc/floe/privkey.pem\n"))
        #expect(error.option == "tls")
        #expect(error.message.contains("needs a certificate"))
    }

    @Test func tlsModeIsOneOfThree() throws {
        let error = try #require(loadError("listen:\n  - port: 8443\n    tls: yes-please\n"))
        #expect(error.message.contains("\"auto\""))
    }

    /// The effective configuration names the TLS settings as the file does, and loads back to the same model.
    @Test func tlsRoundTripsThroughEffectiveJSON() throws {
        let loaded = try load("listen:\n  - port: 8443\n    tls: on\ntls:\n  certificate: /etc/floe/bundle.pem\n")
        let again = try load(loaded.configuration.effectiveJSON(redactingSecrets: false))
        #expect(again.configuration == loaded.configuration)
    }

    /// A private CA for Floe's own https requests, and back through the effective configuration.
    @Test func httpClientCAFile() throws {
        let loaded = try load("http-client:\n  ca-file: /etc/floe/private-ca.pem\n")
        #expect(loaded.configuration.httpClientCAFile == "/etc/floe/private-ca.pem")
        let again = try load(loaded.configuration.effectiveJSON(redactingSecrets: false))
        #expect(again.configuration == loaded.configuration)
        #expect(try load("listen:\n  - port: 8000\n").configuration.httpClientCAFile == nil)
    }

    // MARK: - The embedded default and the shipped files

    /// The built-in configuration is the model's defaults, except that it listens on loopback only.
    @Test func embeddedDefaultLoads() throws {
        let loaded = try NativeConfigurationLoader().load(
            yaml: EmbeddedConfiguration.yaml,
            fileName: EmbeddedConfiguration.fileName
        )
        var expected = ServerConfiguration()
        expected.listenSockets = [ListenSocket(bindAddress: "127.0.0.1", port: 8000)]
        #expect(loaded.configuration == expected)
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.configuration.authentication.sourcePassword == nil)
    }

    /// `floe.example.yaml` is the embedded default, word for word, so the two never drift apart.
    @Test func exampleFileIsTheEmbeddedDefault() throws {
        let example = try String(
            contentsOf: Self.repositoryRoot.appendingPathComponent("floe.example.yaml"),
            encoding: .utf8
        )
        #expect(example == EmbeddedConfiguration.yaml + "\n")
    }

    /// The example with the repository's `mounts/` loads; the shipped `live.yaml` changes nothing but names `/live`.
    @Test func repositoryExampleWithItsMountsLoads() throws {
        let example = Self.repositoryRoot.appendingPathComponent("floe.example.yaml").path
        let loaded = try ConfigurationDirectoryLoader.load(mainFile: example)
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.configuration.mounts["/live"] == MountConfiguration())

        let mounts = Self.repositoryRoot.appendingPathComponent("mounts")
        let files = try FileManager.default.contentsOfDirectory(atPath: mounts.path).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOf: mounts.appendingPathComponent(file), encoding: .utf8)
            let mountPath = try #require(NativeConfigurationLoader.mountPath(forFileName: file))
            _ = try NativeConfigurationLoader().loadMount(yaml: text, fileName: file, mountPath: mountPath)
        }
    }

    // MARK: - Main file

    @Test func everyServerOption() throws {
        let loaded = try load(
            """
            listen:
              - port: 8000
                bind-address: 127.0.0.1
                shoutcast-mount: /live
              - port: 8443
            authentication:
              source-user: encoder
              source-password: s3cret
              admin-user: boss
              admin-password: adm
              relay-user: mirror
              relay-password: rel
            limits: { clients: 500, sources: 4, queue-size: 1 MiB, burst-size: 32 KiB, header-timeout: 5,
                      source-timeout: 2.5, block-duration: 0.25 }
            hostname: radio.example.org
            location: Zürich
            admin-contact: ops@example.org
            server-id: Icecast 2.4.4
            http-headers:
              - { name: Access-Control-Allow-Origin, value: "*" }
              - { name: X-Only-OK, value: "", status: 200 }
            paths:
              webroot: /srv/web
              logdir: /var/log/floe
              pidfile: /run/floe.pid
              aliases: [{ source: /, destination: /status.html }]
            logging: { access-log: access.log, error-log: error.log, level: debug }
            mounts-directory: ~
            """
        )
        let expected = ServerConfiguration(
            listenSockets: [
                ListenSocket(bindAddress: "127.0.0.1", port: 8000, shoutcastMount: "/live"),
                ListenSocket(port: 8443),
            ],
            authentication: .init(
                sourceUser: "encoder",
                sourcePassword: "s3cret",
                adminUser: "boss",
                adminPassword: "adm",
                relayUser: "mirror",
                relayPassword: "rel"
            ),
            limits: .init(
                clients: 500,
                sources: 4,
                queueSize: 1_048_576,
                burstSize: 32_768,
                headerTimeout: 5,
                sourceTimeout: 2.5,
                blockDuration: 0.25
            ),
            hostname: "radio.example.org",
            location: "Zürich",
            adminContact: "ops@example.org",
            serverID: "Icecast 2.4.4",
            httpHeaders: [
                .init(name: "Access-Control-Allow-Origin", value: "*"),
                .init(name: "X-Only-OK", value: "", status: 200),
            ],
            paths: .init(
                webroot: "/srv/web",
                logdir: "/var/log/floe",
                pidfile: "/run/floe.pid",
                aliases: [.init(source: "/", destination: "/status.html")]
            ),
            logging: .init(accessLog: "access.log", errorLog: "error.log", level: "debug")
        )
        #expect(loaded.configuration == expected)
        #expect(loaded.warnings.isEmpty)
    }

    /// Text options take what is written: no YAML 1.1 booleans or numbers sneak in.
    @Test func textIsTakenAsWritten() throws {
        let loaded = try load("authentication: { source-password: 1234, admin-password: no }\nlocation: NO")
        #expect(loaded.configuration.authentication.sourcePassword == "1234")
        #expect(loaded.configuration.authentication.adminPassword == "no")
        #expect(loaded.configuration.location == "NO")
    }

    @Test func relaySettings() throws {
        let loaded = try load(
            """
            relay:
              master-server: master.example.org
              master-server-port: 8001
              master-password: pw
              relays:
                - { server: a.example.org, mount: /a.mp3 }
                - { server: b.example.org, port: 9000, mount: /b, local-mount: /local-b, on-demand: false }
              relays-on-demand: true
            """
        )
        let relay = loaded.configuration.relay
        #expect(relay.masterServer == "master.example.org")
        #expect(relay.masterServerPort == 8001)
        #expect(relay.masterPassword == "pw")
        #expect(
            relay.relays == [
                .init(server: "a.example.org", mount: "/a.mp3", localMount: "/a.mp3", onDemand: true),
                .init(server: "b.example.org", port: 9000, mount: "/b", localMount: "/local-b", onDemand: false),
            ]
        )
        #expect(loaded.warnings.isEmpty)
    }

    /// Upstreams as URLs (credentials inline or beside), tried in order; a relay written that way names its
    /// local mount, and the effective configuration loads back to the same relays.
    @Test func relayUpstreamsAsURLs() throws {
        let loaded = try load(
            """
            relay:
              relays:
                - local-mount: /edge
                  hold: 0
                  upstreams:
                    - http://origin-a.example:8000/live
                    - { url: "https://origin-b.example/live", username: relay, password: pw }
            """
        )
        #expect(
            loaded.configuration.relay.relays == [
                .init(
                    upstreams: [
                        .init(url: "http://origin-a.example:8000/live"),
                        .init(url: "https://origin-b.example/live", username: "relay", password: "pw"),
                    ],
                    localMount: "/edge",
                    hold: 0
                )
            ]
        )
        let again = try load(loaded.configuration.effectiveJSON(redactingSecrets: false))
        #expect(again.configuration == loaded.configuration)
        #expect(loadError("relay:\n  relays:\n    - upstreams: [http://a/x]\n")?.message.contains("local-mount") == true)
        #expect(loadError("relay:\n  relays:\n    - { local-mount: /x, upstreams: [ftp://a/x] }\n")?.message.contains("http://") == true)
    }

    // MARK: - Mounts

    /// Every mount option, written as a mount file would.
    private static let everyMountOption = """
        username: dj
        password: pw
        max-listeners: 50
        max-listeners-per-ip: 3
        stream-name: Live
        stream-description: Live show
        stream-url: https://radio.example.org/
        genre: Jazz
        metadata-interval: 8192
        burst-size: 0
        queue-size: 256 KiB
        source-timeout: 30
        fallback-mount: /backup
        fallback-override: true
        fallback-when-full: yes
        max-listener-duration: 3600
        intro: /intro.mp3
        dump-file: /tmp/live-%Y%m%d.mp3
        on-connect: /usr/local/bin/up
        on-disconnect: /usr/local/bin/down
        hidden: true
        public: false
        charset: UTF-8
        type: audio/mpeg
        bitrate: 128
        http-headers: [{ name: X-Mount, value: live }]
        authentication:
          type: url
          listener-add: http://auth.example.org/add
          listener-remove: https://auth.example.org/remove
          username: floe
          password: authpw
          auth-header: "icecast-auth-user: yes"
          timelimit-header: "x-time:"
          headers: [Referer, User-Agent]
          header-prefix: H.
        """

    private static let everyMountOptionExpected = MountConfiguration(
        username: "dj",
        password: "pw",
        maxListeners: 50,
        maxListenersPerIP: 3,
        streamName: "Live",
        streamDescription: "Live show",
        streamURL: "https://radio.example.org/",
        genre: "Jazz",
        metadataInterval: 8192,
        burstSize: 0,
        queueSize: 262_144,
        sourceTimeout: 30,
        fallbackMount: "/backup",
        fallbackOverride: true,
        fallbackWhenFull: true,
        maxListenerDuration: 3600,
        intro: "/intro.mp3",
        dumpFile: "/tmp/live-%Y%m%d.mp3",
        onConnect: "/usr/local/bin/up",
        onDisconnect: "/usr/local/bin/down",
        listenerAuthentication: .url(
            URLAuthenticationOptions(
                listenerAdd: "http://auth.example.org/add",
                listenerRemove: "https://auth.example.org/remove",
                username: "floe",
                password: "authpw",
                authHeader: "icecast-auth-user: yes",
                timelimitHeader: "x-time:",
                headers: ["Referer", "User-Agent"],
                headerPrefix: "H."
            )
        ),
        httpHeaders: [.init(name: "X-Mount", value: "live")],
        type: "audio/mpeg",
        bitrate: "128",
        hidden: true,
        public: 0,
        charset: "UTF-8"
    )

    /// Every mount option read from a mount file, then written as JSON and read back: nothing is lost either way.
    @Test func everyMountOptionRoundTrips() throws {
        let mount = try NativeConfigurationLoader().loadMount(
            yaml: Self.everyMountOption,
            fileName: "mounts/live.yaml",
            mountPath: "/live"
        )
        #expect(mount == Self.everyMountOptionExpected)

        let indented = Self.everyMountOption.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let configuration = try load("mounts:\n  /live:\n\(indented)\n  /backup: {}").configuration
        #expect(configuration.mounts["/live"] == Self.everyMountOptionExpected)

        let json = configuration.effectiveJSON(redactingSecrets: false)
        let reloaded = try NativeConfigurationLoader().load(yaml: json, fileName: "effective.json")
        #expect(reloaded.configuration == configuration)
    }

    @Test func htpasswdAuthentication() throws {
        let mount = try NativeConfigurationLoader().loadMount(
            yaml: "authentication: { type: htpasswd, filename: users, allow-duplicate-users: false }",
            fileName: "m.yaml",
            mountPath: "/m"
        )
        #expect(
            mount.listenerAuthentication == .htpasswd(HTPasswdOptions(filename: "users", allowDuplicateUsers: false))
        )
    }

    @Test func unlimitedAndNullMeanNotSet() throws {
        let mount = try NativeConfigurationLoader().loadMount(
            yaml: "max-listeners: unlimited\nmax-listener-duration: ~\npublic:\nstream-name: null",
            fileName: "m.yaml",
            mountPath: "/m"
        )
        #expect(mount == MountConfiguration())
    }

    /// A mount is filled from `default-mount` for what it leaves unset; its own settings win.
    @Test func mountsAreFilledFromTheDefaultMount() throws {
        let loaded = try load(
            """
            default-mount: { genre: Jazz, max-listeners: 10, hidden: true, fallback-mount: /backup }
            mounts:
              /live: { genre: Rock }
              /backup:
            """
        )
        #expect(
            loaded.configuration.mounts["/live"]
                == MountConfiguration(maxListeners: 10, genre: "Rock", fallbackMount: "/backup", hidden: true)
        )
        // The default fallback names /backup itself, so /backup does not inherit it.
        #expect(loaded.configuration.mounts["/backup"]?.fallbackMount == nil)
        #expect(loaded.configuration.mount("/other").genre == "Jazz")
    }

    @Test(
        arguments: [
            ("live.yaml", "/live"), ("live.yml", "/live"), ("radio.mp3.yaml", "/radio.mp3"),
            ("README.md", nil), ("live.yaml~", nil), ("live.yaml.disabled", nil), (".live.yaml", nil), (".yaml", nil),
            ("live", nil),
        ] as [(String, String?)]
    )
    func mountPathForFileName(fileName: String, mountPath: String?) {
        #expect(NativeConfigurationLoader.mountPath(forFileName: fileName) == mountPath)
    }

    // MARK: - Errors

    @Test func unknownOptionNamesLineAndSuggestion() throws {
        let error = try #require(loadError("hostname: a\nlimits:\n  clinets: 5\n"))
        #expect(error.line == 3)
        #expect(error.option == "limits/clinets")
        #expect(error.description == "floe.yaml:3: limits/clinets: unknown option; did you mean \"clients\"?")
    }

    /// An option in the wrong place says where it belongs; an Icecast spelling gives the native one.
    @Test(arguments: [
        ("max-listeners: 5", "max-listeners", "mount option"),
        ("clients: 5", "clients", "belongs under limits"),
        ("port: 8000", "port", "belongs under listen"),
        ("admin: x@y", "admin", "did you mean \"admin-contact\"?"),
        (
            "default-mount:\n  mp3-metadata-interval: 8192", "default-mount/mp3-metadata-interval",
            "\"metadata-interval\""
        ),
        ("mounts:\n  /a:\n    hostname: x", "mounts[/a]/hostname", "server option"),
        ("mounts:\n  /a:\n    max_listeners: 5", "mounts[/a]/max_listeners", "did you mean \"max-listeners\"?"),
    ])
    func misplacedOptionSaysWhereItBelongs(yaml: String, option: String, hint: String) throws {
        let error = try #require(loadError(yaml))
        #expect(error.option == option)
        #expect(error.message.contains(hint), "\(error)")
    }

    /// One invalid value each: the option and line the error must name, and a piece of its message.
    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var option: String
        var line: Int
        var message: String
        var testDescription: String { "\(option): \(message)" }
    }

    @Test(arguments: [
        InvalidCase(yaml: "limits:\n  clients: lots", option: "limits/clients", line: 2, message: "whole number"),
        InvalidCase(yaml: "limits:\n  clients: \"100\"", option: "limits/clients", line: 2, message: "without quotes"),
        InvalidCase(yaml: "limits:\n  clients: 0", option: "limits/clients", line: 2, message: "at least 1"),
        InvalidCase(yaml: "limits:\n  clients: 0x10", option: "limits/clients", line: 2, message: "whole number"),
        InvalidCase(yaml: "limits:\n  queue-size: 0", option: "limits/queue-size", line: 2, message: "at least 1"),
        InvalidCase(yaml: "limits:\n  burst-size: 64k", option: "limits/burst-size", line: 2, message: "KiB"),
        InvalidCase(
            yaml: "limits:\n  source-timeout: 0",
            option: "limits/source-timeout",
            line: 2,
            message: "greater than 0"
        ),
        InvalidCase(
            yaml: "limits:\n  header-timeout: .inf",
            option: "limits/header-timeout",
            line: 2,
            message: "seconds"
        ),
        InvalidCase(
            yaml: "limits:\n  block-duration: 60",
            option: "limits/block-duration",
            line: 2,
            message: "at most 10"
        ),
        InvalidCase(yaml: "limits: 5", option: "limits", line: 1, message: "mapping"),
        InvalidCase(yaml: "listen:\n  port: 8000", option: "listen", line: 2, message: "list"),
        InvalidCase(yaml: "listen: []", option: "listen", line: 1, message: "at least one"),
        InvalidCase(yaml: "listen:\n  - port: 70000", option: "listen[0]/port", line: 2, message: "0 to 65535"),
        InvalidCase(
            yaml: "listen:\n  - port: 8000\n    shoutcast-mount: /s\n  - port: 8001",
            option: "listen[1]",
            line: 4,
            message: "port 8001 is already used by listen[0]"
        ),
        InvalidCase(
            yaml: "listen:\n  - shoutcast-mount: live",
            option: "listen[0]/shoutcast-mount",
            line: 2,
            message: "\"/\""
        ),
        InvalidCase(yaml: "hostname:", option: "hostname", line: 1, message: "expected text"),
        InvalidCase(yaml: "hostname: \"\"", option: "hostname", line: 1, message: "empty"),
        InvalidCase(
            yaml: "http-headers:\n  - { name: X-A, value: \"a\\r\\nX-B: b\" }",
            option: "http-headers[0]/value",
            line: 2,
            message: "line breaks"
        ),
        InvalidCase(
            yaml: "logging:\n  level: warn",
            option: "logging/level",
            line: 2,
            message: "did you mean \"warning\"?"
        ),
        InvalidCase(
            yaml: "http-headers:\n  - name: X-A",
            option: "http-headers[0]",
            line: 2,
            message: "name and a value"
        ),
        InvalidCase(
            yaml: "http-headers:\n  - { name: X-A, value: b, status: 99 }",
            option: "http-headers[0]/status",
            line: 2,
            message: "100 to 599"
        ),
        InvalidCase(
            yaml: "trusted-proxies: [127.0.0.1, proxy.example]",
            option: "trusted-proxies[1]",
            line: 1,
            message: "not an address, a CIDR range"
        ),
        InvalidCase(
            yaml: "paths:\n  aliases: [{ source: / }]",
            option: "paths/aliases[0]",
            line: 2,
            message: "destination"
        ),
        InvalidCase(yaml: "mounts:\n  live: {}", option: "mounts[live]", line: 2, message: "must start with \"/\""),
        InvalidCase(yaml: "mounts:\n  /a?b: {}", option: "mounts[/a?b]", line: 2, message: "\"?\""),
        InvalidCase(
            yaml: "mounts:\n  /a:\n    hidden: maybe",
            option: "mounts[/a]/hidden",
            line: 3,
            message: "true or false"
        ),
        InvalidCase(
            yaml: "mounts:\n  /a:\n    max-listeners: many",
            option: "mounts[/a]/max-listeners",
            line: 3,
            message: "or unlimited"
        ),
        InvalidCase(
            yaml: "mounts:\n  /a:\n    fallback-mount: backup",
            option: "mounts[/a]/fallback-mount",
            line: 3,
            message: "must start with \"/\""
        ),
        InvalidCase(yaml: "default-mount:\n  type: mpeg", option: "default-mount/type", line: 2, message: "audio/mpeg"),
        InvalidCase(
            yaml: "default-mount:\n  authentication: { filename: users }",
            option: "default-mount/authentication",
            line: 2,
            message: "needs a type"
        ),
        InvalidCase(
            yaml: "default-mount:\n  authentication:\n    type: htpasswd",
            option: "default-mount/authentication",
            line: 3,
            message: "needs a filename"
        ),
        InvalidCase(
            yaml: "default-mount:\n  authentication:\n    type: url\n    listener-add: auth.example.org",
            option: "default-mount/authentication/listener-add",
            line: 4,
            message: "http://"
        ),
        InvalidCase(
            yaml: "default-mount:\n  authentication:\n    type: htpasswd\n    filename: u\n    listener-add: http://x",
            option: "default-mount/authentication/listener-add",
            line: 5,
            message: "unknown option"
        ),
        InvalidCase(
            yaml: "relay:\n  relays:\n    - port: 8000",
            option: "relay/relays[0]",
            line: 3,
            message: "needs a server"
        ),
        InvalidCase(yaml: "limits:\n  clients: 5\n  clients: 6", option: "clients", line: 2, message: "more than once"),
        InvalidCase(yaml: "limits:\n  clients: [5\n", option: "", line: 3, message: "malformed YAML"),
        InvalidCase(yaml: "- a\n- b", option: "", line: 1, message: "mapping"),
    ])
    func invalidValueIsAnError(_ invalid: InvalidCase) throws {
        let error = try #require(loadError(invalid.yaml))
        #expect(error.file == "floe.yaml")
        #expect(error.option == invalid.option, "\(error)")
        #expect(error.line == invalid.line, "\(error)")
        #expect(error.message.contains(invalid.message), "\(error)")
    }

    // MARK: - Fallbacks

    @Test func fallbackLoopIsAnError() throws {
        let error = try #require(
            loadError(
                """
                mounts:
                  /a:
                    fallback-mount: /b
                  /b:
                    genre: Rock
                    fallback-mount: /c
                  /c:
                    fallback-mount: /a
                """
            )
        )
        #expect(error.option == "mounts[/a]/fallback-mount")
        #expect(error.line == 3)
        #expect(error.message == "fallback loop: /a → /b → /c → /a")
    }

    @Test func fallbackToItselfIsAnError() throws {
        let error = try #require(loadError("mounts:\n  /a: { fallback-mount: /a }"))
        #expect(error.option == "mounts[/a]/fallback-mount")
        #expect(error.message.contains("itself"))
    }

    /// A loop can pass through a mount with no settings of its own, which falls back to the default mount's fallback.
    @Test func fallbackLoopThroughTheDefaultMountIsAnError() throws {
        let error = try #require(
            loadError("default-mount: { fallback-mount: /a }\nmounts:\n  /a: { fallback-mount: /elsewhere }")
        )
        #expect(error.message == "fallback loop: /a → /elsewhere → /a")
    }

    /// A fallback that is not a configured mount may be a mount that exists only while its source is live, or a
    /// file under the web root; both are fine.
    @Test func fallbackToAnUnconfiguredPathIsAllowed() throws {
        let loaded = try load("mounts:\n  /a: { fallback-mount: /b }\n  /b: { fallback-mount: /silence.mp3 }")
        #expect(loaded.configuration.mounts["/a"]?.fallbackMount == "/b")
        #expect(loaded.warnings.isEmpty)
    }

    @Test func fallbackChainLongerThanIcecastFollowsIsAnError() throws {
        let mounts = (0...11).map { "  /m\($0): { fallback-mount: /m\($0 + 1) }" }.joined(separator: "\n")
        let error = try #require(loadError("mounts:\n\(mounts)"))
        #expect(error.message.contains("longer than 10"))
    }

    @Test func fallbackOptionsWithoutAFallbackAreWarnings() throws {
        let loaded = try load("mounts:\n  /a:\n    fallback-override: true")
        #expect(loaded.warnings.map(\.option) == ["mounts[/a]/fallback-override"])
    }

    // MARK: - Mounts directory

    /// A scratch directory, removed afterwards.
    @Test func speakerOutputsOfAMount() throws {
        let loaded = try load(
            """
            mounts:
              /live:
                outputs:
                  - type: rtp
                    mode: l16
                    address: 239.255.0.9
                    port: 5006
                    channels: 1
                    gaps: silence
                  - type: playback
                    name: studio
                    driver: wav
                    device: /tmp/live.wav
            """
        )
        let outputs = loaded.configuration.mounts["/live"]!.outputs
        #expect(outputs.count == 2)
        #expect(outputs[0].name == "rtp1" && outputs[0].gaps == .silence)
        #expect(outputs[0].rtp == RTPOutput(mode: .l16, address: "239.255.0.9", port: 5006, channels: 1))
        #expect(outputs[0].rtp?.isMulticast == true)
        #expect(outputs[1].name == "studio" && outputs[1].jitterBuffer == 0.2)
    }

    @Test func fecOutputsWithTheirCode() throws {
        let loaded = try load(
            """
            mounts:
              /live:
                outputs:
                  - type: fec
                    address: 239.255.0.2
                    port: 5010
                    interface: 127.0.0.1
                  - type: fec
                    address: 127.0.0.1
                    port: 5011
                    fec: 4:6:1000
            """
        )
        let outputs = loaded.configuration.mounts["/live"]!.outputs
        #expect(outputs.map(\.name) == ["fec1", "fec2"])
        #expect(outputs[0].kind == .fec(FECOutput(address: "239.255.0.2", port: 5010, interface: "127.0.0.1")))
        #expect(outputs[1].kind == .fec(FECOutput(address: "127.0.0.1", port: 5011, dataSlices: 4, totalSlices: 6, maximumSliceBytes: 1000)))
        if case .fec(let fec) = outputs[0].kind { #expect(fec.code == "8:12:1400" && fec.isMulticast) }
    }

    @Test(arguments: [
        ("- type: rtp\n  mode: mpa\n  address: 127.0.0.1", "mounts[/live]/outputs[0]/port", "needs a port"),
        ("- type: rtp\n  mode: opus\n  address: 127.0.0.1\n  port: 1", "mounts[/live]/outputs[0]/mode", "mpa or l16"),
        ("- type: rtp\n  mode: mpa\n  address: example.org\n  port: 1", "mounts[/live]/outputs[0]/address", "IPv4"),
        ("- type: playback\n  port: 5004", "mounts[/live]/outputs[0]/port", "not an option of playback"),
        ("- type: playback\n  colour: red", "mounts[/live]/outputs[0]/colour", "unknown output option"),
        ("- type: playback\n- type: playback\n  name: playback1", "mounts[/live]/outputs[1]/name", "already named"),
        ("- type: fec\n  address: 239.255.0.1\n  port: 5010\n  fec: 12:8:1400", "mounts[/live]/outputs[0]/fec", "1 ≤ k < n ≤ 255"),
        ("- type: fec\n  address: 239.255.0.1\n  port: 5010\n  mode: mpa", "mounts[/live]/outputs[0]/mode", "not an option of fec"),
        ("- type: rtp\n  mode: mpa\n  address: 127.0.0.1\n  port: 1\n  gaps: silence", "mounts[/live]/outputs[0]/gaps", "cannot send silence"),
    ])
    func badSpeakerOutputsAreErrorsNamingTheOption(entry: String, option: String, message: String) {
        let yaml = "mounts:\n  /live:\n    outputs:\n" + entry.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
        let error = loadError(yaml)
        #expect(error?.option == option)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    private func withDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("floe-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    private func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func mountFilesAddAndRemoveMounts() throws {
        try withDirectory { directory in
            let main = directory.appendingPathComponent("floe.yaml")
            try write("default-mount:\n  genre: Jazz\n", to: main)
            try write("stream-name: Live\n", to: directory.appendingPathComponent("mounts/live.yaml"))
            try write("# nothing but defaults\n", to: directory.appendingPathComponent("mounts/radio.mp3.yml"))
            try write("not: a mount", to: directory.appendingPathComponent("mounts/README.md"))
            try write("hidden: maybe", to: directory.appendingPathComponent("mounts/.hidden.yaml"))
            try write("hidden: maybe", to: directory.appendingPathComponent("mounts/old.yaml.disabled"))

            let both = try ConfigurationDirectoryLoader.load(mainFile: main.path).configuration
            #expect(Set(both.mounts.keys) == ["/live", "/radio.mp3"])
            #expect(both.mounts["/live"] == MountConfiguration(streamName: "Live", genre: "Jazz"))
            #expect(both.mounts["/radio.mp3"] == MountConfiguration(genre: "Jazz"))

            try FileManager.default.removeItem(at: directory.appendingPathComponent("mounts/radio.mp3.yml"))
            let one = try ConfigurationDirectoryLoader.load(mainFile: main.path).configuration
            #expect(Array(one.mounts.keys) == ["/live"])
        }
    }

    /// A mount file's `relay:` section relays that mount: it joins the configuration's relays, with the main
    /// file's `relays-on-demand` unless it says otherwise; a mount relayed twice is an error.
    @Test func aMountFileRelaysItsMount() throws {
        try withDirectory { directory in
            let main = directory.appendingPathComponent("floe.yaml")
            try write("relay:\n  relays-on-demand: true\n", to: main)
            try write(
                "stream-name: Edge\nrelay:\n  upstreams: [http://origin.example:8000/live]\n  metadata: false\n",
                to: directory.appendingPathComponent("mounts/live.yaml")
            )
            try write(
                "relay: { upstreams: [http://origin.example:8000/jazz], on-demand: false, yield-to-source: true }\n",
                to: directory.appendingPathComponent("mounts/jazz.yaml")
            )
            let configuration = try ConfigurationDirectoryLoader.load(mainFile: main.path).configuration
            #expect(
                configuration.relay.relays.sorted { $0.localMount < $1.localMount } == [
                    .init(upstreams: [.init(url: "http://origin.example:8000/jazz")], localMount: "/jazz", yieldsToSource: true),
                    .init(upstreams: [.init(url: "http://origin.example:8000/live")], localMount: "/live", onDemand: true, relayMetadata: false),
                ]
            )
            #expect(configuration.mounts["/live"]?.streamName == "Edge")
            #expect(configuration.mounts.values.allSatisfy { $0.relay == nil })

            try write("relay:\n  relays: [{ local-mount: /live, upstreams: [http://other.example/live] }]\n", to: main)
            #expect(throws: ConfigurationError.self) { try ConfigurationDirectoryLoader.load(mainFile: main.path) }
            try write("relay: { local-mount: /x, upstreams: [http://a.example/x] }\n", to: directory.appendingPathComponent("mounts/jazz.yaml"))
            try write("", to: main)
            #expect(throws: ConfigurationError.self) { try ConfigurationDirectoryLoader.load(mainFile: main.path) }
        }
    }

    @Test func mountFileErrorsNameTheFile() throws {
        try withDirectory { directory in
            let main = directory.appendingPathComponent("floe.yaml")
            try write("mounts-directory: per-mount\n", to: main)
            let file = directory.appendingPathComponent("per-mount/live.yaml")
            try write("stream-name: Live\nmax-listener: 5\n", to: file)
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationDirectoryLoader.load(mainFile: main.path)
            }
            #expect(error?.file == file.path)
            #expect(error?.line == 2)
            #expect(error?.option == "max-listener")
            #expect(error?.message == "unknown option; did you mean \"max-listeners\"?")
        }
    }

    @Test func fallbackLoopAcrossMountFilesNamesTheFile() throws {
        try withDirectory { directory in
            let main = directory.appendingPathComponent("floe.yaml")
            try write("", to: main)
            try write("genre: A\nfallback-mount: /b\n", to: directory.appendingPathComponent("mounts/a.yaml"))
            try write("fallback-mount: /a\n", to: directory.appendingPathComponent("mounts/b.yaml"))
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationDirectoryLoader.load(mainFile: main.path)
            }
            #expect(error?.file == directory.appendingPathComponent("mounts/a.yaml").path)
            #expect(error?.line == 2)
            #expect(error?.option == "fallback-mount")
            #expect(error?.message == "fallback loop: /a → /b → /a")
        }
    }

    @Test func mountDefinedTwiceIsAnError() throws {
        try withDirectory { directory in
            let main = directory.appendingPathComponent("floe.yaml")
            try write("", to: main)
            try write("", to: directory.appendingPathComponent("mounts/live.yaml"))
            try write("", to: directory.appendingPathComponent("mounts/live.yml"))
            let twoFiles = #expect(throws: ConfigurationError.self) {
                try ConfigurationDirectoryLoader.load(mainFile: main.path)
            }
            #expect(twoFiles?.message.contains("live.yaml") == true)

            try FileManager.default.removeItem(at: directory.appendingPathComponent("mounts/live.yml"))
            try write("mounts:\n  /live: { genre: Jazz }\n", to: main)
            let inlineAndFile = #expect(throws: ConfigurationError.self) {
                try ConfigurationDirectoryLoader.load(mainFile: main.path)
            }
            #expect(inlineAndFile?.file == directory.appendingPathComponent("mounts/live.yaml").path)
            #expect(inlineAndFile?.message.contains("already defined at \(main.path):2") == true)
        }
    }

    /// The default directory may be missing; a directory the file names must exist.
    @Test func missingMountsDirectory() throws {
        try withDirectory { directory in
            let main = directory.appendingPathComponent("floe.yaml")
            try write("hostname: a\n", to: main)
            #expect(try ConfigurationDirectoryLoader.load(mainFile: main.path).configuration.mounts.isEmpty)

            try write("hostname: a\nmounts-directory: nowhere\n", to: main)
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationDirectoryLoader.load(mainFile: main.path)
            }
            #expect(error?.line == 2)
            #expect(error?.option == "mounts-directory")
        }
    }

    @Test func missingMainFileIsAnError() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationDirectoryLoader.load(mainFile: "/nonexistent/floe.yaml")
        }
        #expect(error?.description == "/nonexistent/floe.yaml: no such file")
    }

    @Test func metricsAccessAndSourceCredentialsScope() throws {
        let defaults = try load("{}").configuration
        #expect(defaults.metricsAccess == .local && defaults.sourceCredentials == .mountAdmin)
        let set = try load("metrics-access: admin\nsource-credentials: metadata-only\n").configuration
        #expect(set.metricsAccess == .admin && set.sourceCredentials == .metadataOnly)
        #expect(throws: ConfigurationError.self) { try load("metrics-access: everyone\n") }
        let reloaded = try NativeConfigurationLoader().load(yaml: set.effectiveJSON(redactingSecrets: false), fileName: "e.json")
        #expect(reloaded.configuration == set)
    }

    // MARK: - Effective JSON

    @Test func effectiveJSONIsValidRedactedAndComplete() throws {
        var configuration = try load(Self.mainWithSecrets).configuration
        configuration.mounts["/live"] = Self.everyMountOptionExpected
        let json = configuration.effectiveJSON()

        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        )
        let authentication = try #require(object["authentication"] as? [String: Any])
        #expect(authentication["source-password"] as? String == "********")
        #expect(authentication["relay-password"] is NSNull)
        #expect(authentication["admin-user"] as? String == "admin")

        // Defaults are there too, unset values as null.
        let limits = try #require(object["limits"] as? [String: Any])
        #expect(limits["clients"] as? Int == 10_000)
        #expect(limits["block-duration"] as? Double == 0.5)
        let defaultMount = try #require(object["default-mount"] as? [String: Any])
        #expect(defaultMount["max-listeners"] is NSNull)
        #expect(defaultMount["hidden"] as? Bool == false)

        // No password appears anywhere.
        for secret in ["s3cret", "adm", "pw", "authpw", "masterpw"] {
            #expect(!json.contains("\"\(secret)\""), "\(secret) leaked")
        }
        // Secrets are redacted, URLs are not (JSONEncoder's pretty printing puts a space before the colon).
        #expect(json.contains("\"listener-add\" : \"http://auth.example.org/add\""))
    }

    @Test func effectiveJSONKeysAreSortedAndStable() throws {
        let json = ServerConfiguration().effectiveJSON()
        #expect(json == ServerConfiguration().effectiveJSON())
        let topLevelKeys = json.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map {
            $0.dropFirst(3).prefix { $0 != "\"" }
        }
        #expect(topLevelKeys == topLevelKeys.sorted())
        #expect(topLevelKeys.contains("default-mount"))
    }

    private static let mainWithSecrets = """
        authentication: { source-password: s3cret, admin-password: adm }
        relay:
          master-server: m.example.org
          master-password: masterpw
        """
}
