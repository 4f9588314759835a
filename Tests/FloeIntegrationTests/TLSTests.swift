import FloeCore
import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// TLS with real clients and a certificate made for each test by `openssl`: curl and ffmpeg as listeners,
    /// libshout and ffmpeg as sources, one port for TLS and plain HTTP, TLS-only ports, certificate renewal.
    @Suite("TLS", .serialized)
    struct TLSTests {
        /// A server with one socket in `mode` and the test certificate (chain and key in separate files).
        func tlsServer(
            _ mode: TLSMode,
            _ certificate: TestCertificate,
            bundle: Bool = false,
            _ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }
        ) async throws -> TestServer {
            try await TestServer { configuration in
                configuration.listenSockets = [.init(bindAddress: "127.0.0.1", port: 0, tls: mode)]
                configuration.tls = bundle
                    ? TLSCertificateSettings(certificateFile: certificate.bundleFile)
                    : TLSCertificateSettings(certificateFile: certificate.certificateFile, keyFile: certificate.keyFile)
                configure(&configuration)
            }
        }

        /// curl over https, trusting the test CA, with `localhost` pointed at 127.0.0.1.
        func curl(_ port: Int, _ path: String, _ certificate: TestCertificate, _ extra: [String] = []) async throws -> ExternalProcess.Result {
            try await ExternalProcess.run(
                "curl",
                ["-sS", "--cacert", certificate.caFile, "--resolve", "localhost:\(port):127.0.0.1"] + extra
                    + ["https://localhost:\(port)\(path)"],
                timeout: 20
            )
        }

        @Test func curlOverHTTPSGetsWholeFramesAndStatusJSON() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.auto, certificate)
            let source = try rawSource(port: server.port, mount: "/live")
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/live") })

            let audio = try await curl(server.port, "/live", certificate, ["--max-time", "3"])
            #expect(audio.stderr.contains("timed out") || audio.status == 0, "curl: \(audio.stderr)")
            let bytes = [UInt8](audio.stdout)
            #expect(bytes.count > 16_000, "curl received \(bytes.count) bytes over TLS")
            #expect(Fixture.frameAlignedOffset(of: Array(bytes.prefix(4096))) != nil, "the stream starts on a frame of the source")
            #expect(frameCount(in: bytes, from: Fixture.mp3) >= bytes.count / 418 - 2, "whole frames of the source")

            // Playlists point at https when asked over TLS, at http when asked in plain text on the same port.
            let playlist = try await curl(server.port, "/live.m3u", certificate)
            #expect(String(decoding: playlist.stdout, as: UTF8.self) == "https://localhost:\(server.port)/live\r\n")
            let plainPlaylist = try RawSocket(port: server.port)
            try plainPlaylist.send(requestHead("GET /live.m3u HTTP/1.0", ["Host: localhost:\(server.port)"]))
            #expect(String(decoding: plainPlaylist.receiveAll(), as: UTF8.self).hasSuffix("\r\n\r\nhttp://localhost:\(server.port)/live\r\n"))

            let status = try await curl(server.port, "/status-json.xsl", certificate)
            #expect(status.status == 0, "curl: \(status.stderr)")
            let json = try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any]
            #expect(json?["icestats"] != nil)
            feeding.cancel()
            await server.stop()
        }

        /// One `auto` port: a TLS listener and a plain listener get the same frames.
        @Test func autoPortServesTLSAndPlainListenersTheSameFrames() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.auto, certificate, bundle: true)
            let source = try rawSource(port: server.port, mount: "/both")
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/both") })

            let (plain, head, rest) = try rawListener(port: server.port, mount: "/both")
            defer { withExtendedLifetime(plain) {} }
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let plainStream = plain.receiveAllInBackground(prefix: rest)
            let tls = try await curl(server.port, "/both", certificate, ["--max-time", "3"])
            feeding.cancel()
            source.shutdownWrite()  // the source ends, and with it the plain listener's stream
            let tlsBytes = [UInt8](tls.stdout)
            let plainBytes = await plainStream.value
            #expect(tlsBytes.count > 16_000, "TLS listener: \(tls.stderr)")
            // Both started at the same burst point or within a block of it: the TLS stream's first frames are in
            // the plain listener's stream, byte for byte.
            let probe = Array(tlsBytes.prefix(8192))
            #expect(plainBytes.count > probe.count)
            #expect(plainBytes.firstRange(of: probe) != nil, "the TLS listener's bytes are the plain listener's bytes")
            await server.stop()
        }

        /// On a TLS-only port a plain request is answered, not reset: players are sent to https, sources are told
        /// to upgrade.
        @Test func plainRequestsOnTLSOnlyPortGetAClearAnswer() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.on, certificate)

            let get = try RawSocket(port: server.port)
            try get.send(requestHead("GET /live HTTP/1.0", ["Host: radio.example:\(server.port)"]))
            let redirect = String(decoding: get.receiveAll(), as: UTF8.self)
            #expect(redirect.hasPrefix("HTTP/1.0 301 Moved Permanently\r\n"))
            #expect(redirect.contains("\r\nLocation: https://radio.example:\(server.port)/live\r\n"))
            // An absolute target keeps only its path and query (it made `https://host:porthttp://elsewhere/…`).
            let absolute = try RawSocket(port: server.port)
            try absolute.send(requestHead("GET http://elsewhere.example/live?x=1 HTTP/1.1", ["Host: radio.example:\(server.port)"]))
            let absoluteRedirect = String(decoding: absolute.receiveAll(), as: UTF8.self)
            #expect(absoluteRedirect.contains("\r\nLocation: https://radio.example:\(server.port)/live?x=1\r\n"), "\(absoluteRedirect)")

            let put = try RawSocket(port: server.port)
            try put.send(requestHead("PUT /live HTTP/1.1", ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))"]))
            let upgrade = String(decoding: put.receiveAll(), as: UTF8.self)
            #expect(upgrade.hasPrefix("HTTP/1.0 426 Upgrade Required\r\n"))
            #expect(upgrade.contains("\r\nUpgrade: TLS/1.0, HTTP/1.1\r\n"))
            #expect(!server.isLive("/live"))
            await server.stop()
        }

        /// A request that asks to upgrade (RFC 2817) gets `101` and is answered once the TLS handshake is done:
        /// never in plain text before it. A client that never shakes hands is closed at `header-timeout`, is not a
        /// listener meanwhile, and its admin command is not carried out (found by a probe: such a listener was held
        /// for good, its answer piling up in the TLS handler, and `/admin/metadata` ran without TLS).
        @Test(arguments: [TLSMode.on, .auto])
        func anUpgradeRequestIsServedOnlyAfterItsHandshake(mode: TLSMode) async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(mode, certificate) { $0.limits.headerTimeout = 1 }
            // A source over TLS (libshout upgrades), then the stalled clients in plain text.
            let source = try ShoutSource(
                host: "localhost", port: server.port, mount: "/live", password: TestServer.sourcePassword,
                tls: .auto, caFile: certificate.caFile
            )
            try await onThread { try source.open() }
            let upgrade = ["Host: localhost", "Upgrade: TLS/1.0", "Connection: Upgrade"]
            let listener = try RawSocket(port: server.port)
            try listener.send(requestHead("GET /live HTTP/1.1", upgrade))
            let title = try RawSocket(port: server.port)
            try title.send(
                requestHead(
                    "GET /admin/metadata?mount=/live&mode=updinfo&song=SENT_IN_PLAIN_TEXT HTTP/1.1",
                    upgrade + ["Authorization: \(basicAuthorization("admin", TestServer.adminPassword))"]
                )
            )
            for socket in [listener, title] {
                #expect(try socket.receiveHead().head.hasPrefix("HTTP/1.1 101 Switching Protocols"))
                #expect(socket.isClosedByPeer(within: 5), "closed at header-timeout without a handshake")
            }
            #expect(server.listeners("/live") == 0)
            #expect(server.server.mountState("/live")?.metadata.title != "SENT_IN_PLAIN_TEXT")
            try await onThread { source.close() }
            await server.stop()
        }

        /// A connection that asked to upgrade counts against `max-pending-per-ip` until its real request is read.
        @Test func upgradedConnectionsStillSendingTheirRequestCountAsPending() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.auto, certificate) { $0.limits.maxPendingPerIP = 2 }
            var sockets: [RawSocket] = []
            var answers: [String] = []
            for _ in 0..<3 {
                let socket = try RawSocket(port: server.port)
                try socket.send(requestHead("OPTIONS * HTTP/1.1", ["Host: localhost", "Upgrade: TLS/1.0", "Connection: Upgrade"]))
                answers.append(String(try socket.receiveHead().head.prefix(12)))
                sockets.append(socket)
            }
            #expect(answers == ["HTTP/1.1 101", "HTTP/1.1 101", "HTTP/1.0 503"], "\(answers)")
            await server.stop()
        }

        /// libshout in its default mode asks to upgrade (`OPTIONS *` with `Upgrade: TLS/1.0`) and gets TLS on both
        /// kinds of port; in RFC 2818 mode it starts with TLS. It checks the certificate against `localhost`.
        @Test(arguments: [(TLSMode.auto, ShoutSource.TLS.auto), (.on, .auto), (.on, .rfc2818), (.auto, .rfc2817)])
        func libshoutStreamsOverTLS(port mode: TLSMode, client: ShoutSource.TLS) async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(mode, certificate)
            let source = try ShoutSource(
                host: "localhost",
                port: server.port,
                mount: "/shout",
                password: TestServer.sourcePassword,
                tls: client,
                caFile: certificate.caFile
            )
            try await onThread { try source.open() }
            #expect(server.isLive("/shout"))
            let listening = Task { try await curl(server.port, "/shout", certificate, ["--max-time", "6"]) }
            #expect(await server.waitUntil { server.listeners("/shout") == 1 })
            try await onThread {
                try source.send(Fixture.mp3)
                source.close()
            }
            let heard = [UInt8](try await listening.value.stdout)
            #expect(sameBytes(heard, Fixture.mp3), "the TLS listener heard exactly what libshout sent over TLS")
            await server.stop()
        }

        @Test func ffmpegSourceWithTLSReachesAPlainListener() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.auto, certificate)
            let input = try Fixture.writeMP3(in: directory)
            let url = "icecast://source:\(TestServer.sourcePassword)@localhost:\(server.port)/ff"
            let ffmpeg = try ExternalProcess(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-re", "-i", input, "-c", "copy", "-f", "mp3", "-tls", "1",
                 "-content_type", "audio/mpeg", "-id3v2_version", "0", "-write_xing", "0", url]
            )
            #expect(await server.waitUntil(timeout: 15) { server.isLive("/ff") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/ff")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            let result = await ffmpeg.finish(timeout: 30)
            #expect(result.status == 0, "ffmpeg over TLS: \(result.stderr)")
            let heard = await stream.value
            #expect(frameCount(in: heard, from: Fixture.mp3) > 100, "frames sent over TLS reached the plain listener")
            await server.stop()
        }

        /// ffmpeg as a listener over https, checking the certificate against the test CA, decodes the mount.
        @Test func ffmpegDecodesTheMountOverHTTPS() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.auto, certificate)
            let source = try rawSource(port: server.port, mount: "/live")
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/live") })
            let file = directory.path("heard.wav")
            let ffmpeg = try await ExternalProcess.run(
                "ffmpeg",
                ["-nostdin", "-hide_banner", "-loglevel", "error", "-tls_verify", "1", "-ca_file", certificate.caFile,
                 "-i", "https://localhost:\(server.port)/live", "-t", "3", "-y", file],
                timeout: 30
            )
            // The same without the CA: ffmpeg checks, so it refuses the server.
            let unverified = try await ExternalProcess.run(
                "ffmpeg",
                ["-nostdin", "-hide_banner", "-loglevel", "error", "-tls_verify", "1",
                 "-i", "https://localhost:\(server.port)/live", "-t", "1", "-y", directory.path("none.wav")],
                timeout: 30
            )
            feeding.cancel()
            await server.stop()
            #expect(unverified.status != 0, "an unknown CA is refused")
            #expect(ffmpeg.status == 0, "ffmpeg over https: \(ffmpeg.stderr)")
            let heard = try WAVAudio(contentsOf: file)
            #expect(heard.duration > 2.9, "\(heard.duration) s decoded over https")
            #expect(abs(heard.dominantFrequency - 440) < 4)
        }

        /// Floe's own client over https: `floe play` verifies the server against the CA it is given, plays, and
        /// refuses the same server without it (an unknown CA).
        @Test func floePlayOverHTTPSVerifiesTheCertificate() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await tlsServer(.on, certificate)
            let binary = ExecutableTests.binary
            let url = "https://localhost:\(server.port)/live"
            let untrusted = try await ExternalProcess.run(binary, ["play", url, "--driver", "wav", "--device", directory.path("none.wav")], timeout: 20)
            #expect(untrusted.status != 0)
            #expect(untrusted.stderr.lowercased().contains("certificate") || untrusted.stderr.contains("handshake"), "\(untrusted.stderr)")

            let source = try await onThread {
                try ShoutSource(host: "localhost", port: server.port, mount: "/live", password: TestServer.sourcePassword, tls: .rfc2818, caFile: certificate.caFile)
            }
            try await onThread { try source.open() }
            let file = directory.path("play.wav")
            let player = try ExternalProcess(binary, ["play", url, "--ca-file", certificate.caFile, "--driver", "wav", "--device", file, "--jitter-buffer", "0.3"])
            #expect(await server.waitUntil { server.listeners("/live") == 1 })
            try await onThread {
                try source.send(Fixture.mp3)
                source.close()
            }
            let result = await player.finish(timeout: 30)
            await server.stop()
            #expect(result.status == 0, "\(result.stderr)")
            let played = try WAVAudio(contentsOf: file)
            #expect(played.duration > 4, "\(played.duration) s played over https")
            #expect(abs(played.dominantFrequency - 440) < 4)
        }

        /// A station's web page over https: Chromium, trusting the test certificate's key, loads the status page
        /// and its `<audio>` element plays the mount over https (no mixed content anywhere).
        @Test func chromiumPlaysTheMountFromTheStatusPageOverHTTPS() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await TestServer { configuration in
                configuration.listenSockets = [.init(bindAddress: "127.0.0.1", port: 0, tls: .auto)]
                configuration.tls = TLSCertificateSettings(certificateFile: certificate.certificateFile, keyFile: certificate.keyFile)
                configuration.paths.webroot = WebPageTests.webroot
            }
            let source = try rawSource(port: server.port, mount: "/live", headers: ["ice-name: Secure Radio"])
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/live") })

            let browser = try await HeadlessChromium(
                url: "about:blank",
                arguments: [
                    "--ignore-certificate-errors-spki-list=\(certificate.publicKeyHash)",
                    "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                ]
            )
            try await browser.open("https://localhost:\(server.port)/")
            let card = "document.querySelector('article[data-mount=\"/live\"]')"
            #expect(try await browser.wait(for: "\(card)?.querySelector('.name').textContent ?? ''", toBe: "Secure Radio") == "Secure Radio")
            #expect(try await browser.evaluate("location.protocol") == "https:")
            let audio = "\(card).querySelector('audio')"
            let audioSource = try await browser.evaluate("\(audio).src")
            // The stream, or its HLS playlist once that has segments enough (Chromium plays HLS): over https either way.
            #expect(["https://localhost:\(server.port)/live", "https://localhost:\(server.port)/live.m3u8"].contains(audioSource), "\(audioSource)")
            let started = try await browser.evaluate("\(audio).play().then(() => 'playing', e => 'refused: ' + e)")
            #expect(started == "playing")
            let advancing = "\(audio).currentTime > 2 ? 'advancing' : String(\(audio).currentTime)"
            #expect(try await browser.wait(for: advancing, toBe: "advancing", timeout: 15) == "advancing")
            #expect(try await browser.evaluate("String(\(audio).error?.code ?? 'none')") == "none")
            if audioSource.hasSuffix(".m3u8") {
                let metrics = try await prometheusMetrics(port: server.port)
                #expect(metrics["floe_hls_listeners{mount=\"/live\"}"] == 1, "the page's player is an HLS listener")
            } else {
                #expect(server.listeners("/live") == 1, "the page's player is a listener")
            }
            feeding.cancel()
            await server.stop()
        }

        /// Renewal: a reload with a new certificate reaches new connections; a listener connected before keeps
        /// streaming; a broken certificate file on reload keeps the one in use.
        @Test func reloadedCertificateReachesNewConnectionsOnly() async throws {
            let directory = try TemporaryDirectory()
            let first = try await TestCertificate.make(in: directory, name: "first")
            let second = try await TestCertificate.make(in: directory, name: "second")
            let server = try await tlsServer(.auto, first)
            #expect(server.server.tlsCertificateSerial.map(TestCertificate.normalised) == first.serial)
            let source = try rawSource(port: server.port, mount: "/renew")
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/renew") })
            // A listener over TLS that notes when each read arrives (python3's ssl, trusting the first CA): after
            // its first second (the burst), the longest wait between reads shows whether the renewal disturbed it.
            let reader = """
                import socket, ssl, sys, time
                context = ssl.create_default_context(cafile=sys.argv[2])
                with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
                    with context.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(b"GET /renew HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
                        start = time.monotonic()
                        total, gap, last, end = 0, 0.0, None, start + 5
                        while time.monotonic() < end:
                            data = tls.recv(65536)
                            if not data:
                                break
                            now = time.monotonic()
                            total += len(data)
                            if now - start > 1 and last is not None:
                                gap = max(gap, now - last)
                            last = now
                        print(total, round(gap, 3))
                """
            try reader.write(toFile: directory.path("reader.py"), atomically: true, encoding: .utf8)
            let early = Task { try await ExternalProcess.run("python3", [directory.path("reader.py"), "\(server.port)", first.caFile], timeout: 20) }
            #expect(await server.waitUntil { server.listeners("/renew") == 1 })

            var renewed = server.configuration
            renewed.tls = TLSCertificateSettings(certificateFile: second.certificateFile, keyFile: second.keyFile)
            server.server.reload(renewed)
            #expect(server.server.tlsCertificateSerial.map(TestCertificate.normalised) == second.serial)
            let presented = try await ExternalProcess.run(
                "sh",
                ["-c", "openssl s_client -connect 127.0.0.1:\(server.port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"]
            )
            let served = String(decoding: presented.stdout, as: UTF8.self).split(separator: "=").last.map(String.init) ?? ""
            #expect(TestCertificate.normalised(served.trimmingCharacters(in: .whitespacesAndNewlines)) == second.serial)

            var broken = renewed
            try "not a certificate".write(toFile: directory.path("broken.pem"), atomically: true, encoding: .utf8)
            broken.tls = TLSCertificateSettings(certificateFile: directory.path("broken.pem"))
            server.server.reload(broken)
            #expect(server.server.tlsCertificateSerial.map(TestCertificate.normalised) == second.serial, "the renewed certificate stays")

            let report = String(decoding: try await early.value.stdout, as: UTF8.self).split(separator: " ")
            let received = Int(report.first ?? "") ?? 0
            let longestGap = Double(report.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 99
            #expect(received > 4 * 16_000, "the listener connected before the renewal kept streaming: \(received) bytes in 5 s")
            #expect(longestGap < 1.0, "no gap over 1 s across the renewal: \(longestGap) s")
            feeding.cancel()
            await server.stop()
        }

        /// Handshakes that go wrong cost nothing to others: a truncated ClientHello, one that never finishes (cut
        /// off by header-timeout), garbage after a handshake byte, and a thousand abandoned handshakes.
        @Test func brokenHandshakesLeaveOtherListenersAlone() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let server = try await TestServer { configuration in
                configuration.listenSockets = [.init(bindAddress: "127.0.0.1", port: 0, tls: .auto)]
                configuration.tls = TLSCertificateSettings(certificateFile: certificate.bundleFile)
                configuration.limits.headerTimeout = 1
                configuration.limits.maxPendingPerIP = 0
            }
            let source = try rawSource(port: server.port, mount: "/calm")
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/calm") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/calm")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)

            // A handshake record header promising more than ever comes: cut off by header-timeout.
            let stalled = try RawSocket(port: server.port, timeout: 5)
            try stalled.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])
            // Not TLS after the handshake byte: the TLS handler rejects it.
            let garbage = try RawSocket(port: server.port)
            try garbage.send([0x16] + Array("GET / HTTP/1.0\r\n\r\n".utf8))
            #expect(garbage.receiveAll().count < 100, "a TLS alert or a close, no HTTP answer")
            // A thousand connections that send a handshake byte and vanish.
            for _ in 0..<1000 {
                let abandoned = try RawSocket(port: server.port)
                try abandoned.send([0x16, 0x03, 0x01])
            }
            let cutOff = stalled.receiveAll()
            #expect(cutOff.count < 100, "the stalled handshake was closed by header-timeout")
            // The listener never stopped, and a new TLS listener still gets audio.
            let fresh = try await curl(server.port, "/calm", certificate, ["--max-time", "2"])
            #expect(fresh.stdout.count > 16_000, "a new TLS listener after the abuse: \(fresh.stderr)")
            feeding.cancel()
            source.shutdownWrite()
            #expect(await stream.value.count > 2 * 16_000)
            withExtendedLifetime(listener) {}
            #expect(server.listeners("/calm") <= 1)
            await server.stop()
        }
    }
}
