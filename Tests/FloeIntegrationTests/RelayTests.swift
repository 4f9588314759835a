import FloeCore
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// Relays with real peers: a real Icecast 2.4.4 as the upstream, Floe pulling its mounts.
    @Suite("Relays", .serialized)
    struct RelayTests {
        /// Waits until `mount` on `port` answers a listener with 200 (a source has logged in there).
        func waitForMount(port: Int, mount: String) async throws {
            for _ in 0..<100 {
                if let (socket, head, _) = try? rawListener(port: port, mount: mount), head.contains(" 200 ") {
                    socket.shutdownWrite()
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("\(mount) never went live on port \(port)")
        }

        /// A source streaming `mp3` (looped, paced) to `mount` on `port`, once the mount answers listeners.
        func liveSource(port: Int, mount: String, _ mp3: [UInt8] = Fixture.mp3, headers: [String] = []) async throws
            -> (socket: RawSocket, feeding: Task<Void, Error>)
        {
            let socket = try rawSource(port: port, mount: mount, headers: headers)
            let feeding = streamUntilCancelled(socket, mp3)
            try await waitForMount(port: port, mount: mount)
            return (socket, feeding)
        }

        /// Reads from a listener until it has at least `count` bytes of body (or the stream ends).
        func receiveAudio(_ listener: RawSocket, after rest: [UInt8], atLeast count: Int) throws -> [UInt8] {
            var audio = rest
            while audio.count < count {
                let more = try listener.receive(maximum: 16_000)
                if more.isEmpty { break }
                audio += more
            }
            return audio
        }

        /// Floe relays a mount of a real Icecast 2.4.4: a Floe listener receives the very bytes an Icecast listener
        /// receives, whole frames of the source, and a title set on Icecast reaches Floe's ICY listeners.
        @Test func relaysAnIcecastMountWithItsTitles() async throws {
            let icecast = try await IcecastServer()
            let (source, feeding) = try await liveSource(port: icecast.port, mount: "/origin", headers: ["ice-name: Origin Radio"])
            // Connected before the relay, this Icecast listener's stream holds everything the relay will get.
            let (upstreamListener, upstreamHead, upstreamRest) = try rawListener(port: icecast.port, mount: "/origin")
            #expect(upstreamHead.hasPrefix("HTTP/1.0 200 OK"))
            let upstreamStream = upstreamListener.receiveAllInBackground(prefix: upstreamRest)

            let server = try await TestServer {
                $0.relay.relays = [.init(server: "127.0.0.1", port: icecast.port, mount: "/origin", localMount: "/edge")]
            }
            #expect(await server.waitUntil { server.isLive("/edge") }, "the relay connected: \(icecast.errorLog)")
            let (edgeListener, edgeHead, edgeRest) = try rawListener(port: server.port, mount: "/edge")
            #expect(edgeHead.hasPrefix("HTTP/1.0 200 OK"))
            #expect(edgeHead.contains("icy-name:Origin Radio"), "the upstream's stream name: \(edgeHead)")
            let edgeStream = edgeListener.receiveAllInBackground(prefix: edgeRest)
            let (titled, titledHead, titledRest) = try rawListener(port: server.port, mount: "/edge", headers: ["Icy-MetaData: 1"])
            #expect(titledHead.contains("icy-metaint:"))
            let titledStream = titled.receiveAllInBackground(prefix: titledRest)

            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(icecast.port)/admin/metadata?mount=/origin&mode=updinfo&song=Relayed%20Title"])
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            #expect(await server.waitUntil(timeout: 5) { server.server.mountState("/edge")?.metadata.title == "Relayed Title" })
            try await Task.sleep(for: .seconds(3))
            // The source ends: Icecast ends its listeners; Floe's wait for the relay (its hold) until Floe stops.
            feeding.cancel()
            source.shutdownWrite()
            let upstreamBytes = await upstreamStream.value
            await server.stop()
            let edgeBytes = await edgeStream.value
            let titledBytes = await titledStream.value

            #expect(edgeBytes.count > 3 * 16_000, "the edge listener got \(edgeBytes.count) bytes")
            let probe = Array(edgeBytes.prefix(16_384))
            #expect(upstreamBytes.firstRange(of: probe) != nil, "the edge's bytes are the upstream's bytes")
            #expect(Fixture.frameAlignedOffset(of: Array(edgeBytes.prefix(4096))) != nil, "the edge starts on a frame of the source")
            #expect(frameCount(in: edgeBytes, from: Fixture.mp3) >= edgeBytes.count / 418 - 2, "whole frames of the source")
            #expect(titledBytes.firstRange(of: Array("StreamTitle='Relayed Title';".utf8)) != nil, "the title in Floe's ICY stream")
        }

        /// The upstream's source stops for 3 s and comes back: Floe's listeners stay connected through the hold
        /// and get whole frames again, without reconnecting.
        @Test func listenersWaitThroughAnUpstreamOutage() async throws {
            let icecast = try await IcecastServer()
            var (source, feeding) = try await liveSource(port: icecast.port, mount: "/origin")
            let server = try await TestServer {
                $0.relay.relays = [.init(server: "127.0.0.1", port: icecast.port, mount: "/origin", localMount: "/edge")]
            }
            #expect(await server.waitUntil { server.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            try await Task.sleep(for: .seconds(1))

            feeding.cancel()
            source.shutdownWrite()
            try await Task.sleep(for: .seconds(3))
            #expect(server.isLive("/edge"), "the relayed mount is held while the upstream is away")
            #expect(server.listeners("/edge") == 1)
            source = try rawSource(port: icecast.port, mount: "/origin")
            feeding = streamUntilCancelled(source, Fixture.otherMP3)
            // Whole frames of the new stream reach the listener that waited: the relay is back within a few
            // seconds (retries after 1 s, 2 s, 4 s), so most of 8 s of the new stream arrives.
            try await Task.sleep(for: .seconds(8))
            #expect(server.listeners("/edge") == 1, "the listener never had to reconnect")
            feeding.cancel()
            source.shutdownWrite()
            await server.stop()
            let heard = await stream.value
            let resumedFrames = frameCount(in: heard, from: Fixture.otherMP3)
            #expect(resumedFrames > 100, "the second stream's frames reached the waiting listener: \(resumedFrames)")
        }

        /// Two upstreams in priority order: when the first one's server dies, the relay takes the second, and the
        /// listener stays connected and hears the second one's stream.
        @Test func aSecondUpstreamTakesOverWhenTheFirstDies() async throws {
            let first = try await IcecastServer()
            let second = try await IcecastServer()
            let (_, feedingFirst) = try await liveSource(port: first.port, mount: "/origin")
            let (_, feedingSecond) = try await liveSource(port: second.port, mount: "/backup", Fixture.otherMP3)
            let server = try await TestServer {
                $0.relay.relays = [
                    .init(
                        upstreams: [
                            .init(url: "http://127.0.0.1:\(first.port)/origin"),
                            .init(url: "http://127.0.0.1:\(second.port)/backup"),
                        ],
                        localMount: "/edge"
                    )
                ]
            }
            #expect(await server.waitUntil { server.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            try await Task.sleep(for: .seconds(1))

            func upstreamInUse() -> String? {
                guard case .live(let live) = server.server.mountState("/edge")?.source else { return nil }
                return live.descriptor.relayUpstream
            }
            #expect(upstreamInUse() == "http://127.0.0.1:\(first.port)/origin")
            first.stop()
            feedingFirst.cancel()
            try await Task.sleep(for: .seconds(5))
            #expect(server.listeners("/edge") == 1, "the listener stayed through the switch")
            #expect(upstreamInUse() == "http://127.0.0.1:\(second.port)/backup", "status names the upstream in use")
            let stats = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/stats"])
            #expect(String(decoding: stats.stdout, as: UTF8.self).contains(
                "<floe_relay_upstream>http://127.0.0.1:\(second.port)/backup</floe_relay_upstream>"))
            await server.stop()
            feedingSecond.cancel()
            let heard = await stream.value
            #expect(frameCount(in: heard, from: Fixture.mp3) > 20, "the first upstream's frames")
            #expect(frameCount(in: heard, from: Fixture.otherMP3) > 100, "then the second upstream's frames")
        }

        /// Whether `stream` is frame after frame with nothing between them (a cut stream's last partial frame
        /// aside): what a switch of upstreams must keep.
        func isWholeFrames(_ stream: [UInt8]) -> Bool {
            var end = 0
            for located in MPEGFrameSynchronizer.frames(in: stream) {
                guard located.offset == end else { return false }
                end = located.offset + located.frame.length
            }
            return stream.count - end < 1_441
        }

        /// The upstream a relayed mount plays now, as status names it.
        func upstreamInUse(_ server: TestServer, _ mount: String) -> String? {
            guard case .live(let live) = server.server.mountState(mount)?.source else { return nil }
            return live.descriptor.relayUpstream
        }

        /// The relay's connection drops (the origin kicks it) and it reconnects to the same origin: the origin's
        /// burst repeats seconds the listener already heard, and the relay skips them. The edge listener's stream
        /// is one unbroken piece of the origin's: nothing twice, nothing missing.
        @Test func aReconnectedRelayDoesNotReplayTheBurst() async throws {
            let origin = try await TestServer()
            let (_, feeding) = try await liveSource(port: origin.port, mount: "/origin")
            let (originListener, _, originRest) = try rawListener(port: origin.port, mount: "/origin")
            let originStream = originListener.receiveAllInBackground(prefix: originRest)
            let log = LogCapture()
            let server = try await TestServer(log: log) {
                $0.relay.relays = [.init(upstreams: [.init(url: "http://127.0.0.1:\(origin.port)/origin")], localMount: "/edge")]
            }
            #expect(await server.waitUntil { server.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            try await Task.sleep(for: .seconds(2))

            let clients = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(origin.port)/admin/listclients?mount=/origin"])
            let xml = String(decoding: clients.stdout, as: UTF8.self)
            let relayEntry = try #require(xml.components(separatedBy: "<listener>").first { $0.contains("(relay)") })
            let id = try #require(relayEntry.components(separatedBy: "<ID>").dropFirst().first?.prefix { $0.isNumber })
            let kicked = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(origin.port)/admin/killclient?mount=/origin&id=\(id)"])
            #expect(String(decoding: kicked.stdout, as: UTF8.self).contains("removed"))
            #expect(await server.waitUntil { !log.lines(containing: "takes up where the last one left off").isEmpty },
                    "the relay reconnected and aligned: \(log.all.suffix(8))")
            try await Task.sleep(for: .seconds(2))
            #expect(server.listeners("/edge") == 1)
            await server.stop()
            feeding.cancel()
            await origin.stop()
            let originBytes = await originStream.value
            let heard = await stream.value
            #expect(heard.count > 3 * 16_000, "the edge listener got \(heard.count) bytes")
            #expect(isWholeFrames(heard))
            let whole = Array(heard.prefix(heard.count - 2_000))
            #expect(originBytes.firstRange(of: whole) != nil, "one unbroken piece of the origin's stream")
        }

        /// An https upstream (a Floe origin on a TLS-only socket): the edge relays it, trusting the origin's
        /// private CA through `http-client: ca-file`; without that CA it refuses the certificate and says so.
        @Test func relaysAnHTTPSUpstream() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let origin = try await TestServer { configuration in
                configuration.listenSockets = [.init(bindAddress: "127.0.0.1", port: 0, tls: .auto)]
                configuration.tls = TLSCertificateSettings(certificateFile: certificate.certificateFile, keyFile: certificate.keyFile)
            }
            let (_, feeding) = try await liveSource(port: origin.port, mount: "/origin")
            let upstream = "https://127.0.0.1:\(origin.port)/origin"
            let edge = try await TestServer {
                $0.httpClientCAFile = certificate.caFile
                $0.relay.relays = [.init(upstreams: [.init(url: upstream)], localMount: "/edge")]
            }
            #expect(await edge.waitUntil { edge.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: edge.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let audio = try receiveAudio(listener, after: rest, atLeast: 32_000)
            #expect(frameCount(in: audio, from: Fixture.mp3) > 50, "the origin's frames, over TLS")
            #expect(upstreamInUse(edge, "/edge") == upstream)

            let log = LogCapture()
            let untrusting = try await TestServer(log: log) {
                $0.relay.relays = [.init(upstreams: [.init(url: upstream)], localMount: "/edge")]
            }
            #expect(await untrusting.waitUntil { !log.lines(containing: "Relay upstream failed", "mount.path=/edge").isEmpty })
            #expect(!untrusting.isLive("/edge"), "an unverified certificate is refused")
            feeding.cancel()
            await untrusting.stop()
            await edge.stop()
            await origin.stop()
        }

        /// While the second upstream plays, the first comes back: the relay returns to it (it probes the higher
        /// ones every few seconds) on a frame boundary, and the listener hears both streams, frame after frame.
        @Test func theFirstUpstreamIsTakenBackWhenItReturns() async throws {
            let first = try await TestServer()
            let second = try await TestServer()
            let (_, feedingSecond) = try await liveSource(port: second.port, mount: "/backup", Fixture.otherMP3)
            let firstURL = "http://127.0.0.1:\(first.port)/origin"
            let server = try await TestServer {
                $0.relay.relays = [
                    .init(upstreams: [.init(url: firstURL), .init(url: "http://127.0.0.1:\(second.port)/backup")], localMount: "/edge")
                ]
            }
            // The first upstream has no source yet (404): the second plays.
            #expect(await server.waitUntil { server.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            try await Task.sleep(for: .seconds(2))
            #expect(upstreamInUse(server, "/edge") == "http://127.0.0.1:\(second.port)/backup")

            let (_, feedingFirst) = try await liveSource(port: first.port, mount: "/origin")
            #expect(await server.waitUntil(timeout: 15) { upstreamInUse(server, "/edge") == firstURL }, "back on the first upstream")
            try await Task.sleep(for: .seconds(3))
            #expect(server.listeners("/edge") == 1, "the listener stayed through the switch")
            await server.stop()
            feedingFirst.cancel()
            feedingSecond.cancel()
            let heard = await stream.value
            #expect(frameCount(in: heard, from: Fixture.otherMP3) > 50, "the second upstream's frames")
            #expect(frameCount(in: heard, from: Fixture.mp3) > 50, "then the first upstream's frames")
            #expect(isWholeFrames(heard), "no partial frame at the switch")
            await first.stop()
            await second.stop()
        }

        /// `yield-to-source`: a source logging in to a relayed mount takes it over with its listeners; when it leaves,
        /// the relay takes the mount back. The listener never reconnects and hears relay, live, relay.
        @Test func aLiveSourceTakesOverARelayedMountAndHandsItBack() async throws {
            let origin = try await TestServer()
            let (_, feedingOrigin) = try await liveSource(port: origin.port, mount: "/origin")
            let server = try await TestServer {
                $0.relay.relays = [
                    .init(upstreams: [.init(url: "http://127.0.0.1:\(origin.port)/origin")], localMount: "/edge", yieldsToSource: true)
                ]
            }
            #expect(await server.waitUntil { server.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            try await Task.sleep(for: .seconds(2))

            let live = try rawSource(port: server.port, mount: "/edge")
            let feedingLive = streamUntilCancelled(live, Fixture.otherMP3)
            #expect(await server.waitUntil { upstreamInUse(server, "/edge") == nil && server.isLive("/edge") }, "the live source feeds the mount")
            try await Task.sleep(for: .seconds(4))
            #expect(server.listeners("/edge") == 1)
            #expect(origin.listeners("/origin") == 0, "the relay left the origin while the live source played")

            feedingLive.cancel()
            live.shutdownWrite()
            #expect(await server.waitUntil { upstreamInUse(server, "/edge") != nil }, "the relay took the mount back")
            try await Task.sleep(for: .seconds(3))
            #expect(server.listeners("/edge") == 1, "the listener stayed through both handovers")
            await server.stop()
            feedingOrigin.cancel()
            let heard = await stream.value
            let relayed = frameCount(in: heard, from: Fixture.mp3)
            let liveFrames = frameCount(in: heard, from: Fixture.otherMP3)
            #expect(liveFrames > 80, "the live source's frames: \(liveFrames)")
            #expect(relayed > 100, "the relay's frames, before and after: \(relayed)")
            // The live frames sit between relayed ones.
            let firstLive = MPEGFrameSynchronizer.frames(in: heard).first { located in
                frameCount(in: Array(heard[located.offset..<(located.offset + located.frame.length)]), from: Fixture.otherMP3) == 1
            }
            if let firstLive {
                #expect(frameCount(in: Array(heard[..<firstLive.offset]), from: Fixture.mp3) > 20, "relayed before")
                #expect(frameCount(in: Array(heard[firstLive.offset...]), from: Fixture.mp3) > 20, "relayed after")
            }
            #expect(isWholeFrames(heard), "no partial frame at either handover")
            await origin.stop()
        }

        /// `yield-to-source` when the live source came first: the relay finds the mount in use, waits rather than
        /// retrying, and takes the mount over, listener and all, the moment the source leaves.
        @Test func aRelayWaitsForALiveSourceThatWasThereFirst() async throws {
            let origin = try await TestServer()
            let log = LogCapture()
            let server = try await TestServer(log: log) {
                $0.relay.relays = [
                    .init(upstreams: [.init(url: "http://127.0.0.1:\(origin.port)/origin")], localMount: "/edge", yieldsToSource: true)
                ]
            }
            let live = try rawSource(port: server.port, mount: "/edge")
            let feedingLive = streamUntilCancelled(live, Fixture.otherMP3)
            #expect(await server.waitUntil { server.isLive("/edge") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            // The origin goes live: the relay connects, finds /edge in use and waits (it leaves the origin).
            let (_, feedingOrigin) = try await liveSource(port: origin.port, mount: "/origin")
            #expect(await origin.waitUntil(timeout: 15) { origin.listeners("/origin") == 1 }, "the relay tried the origin")
            #expect(await origin.waitUntil { origin.listeners("/origin") == 0 }, "and left it to wait")
            #expect(await server.waitUntil { !log.lines(containing: "the relay waits for it to leave").isEmpty })
            feedingLive.cancel()
            live.shutdownWrite()
            #expect(await server.waitUntil { upstreamInUse(server, "/edge") != nil }, "the relay took the mount when the source left")
            try await Task.sleep(for: .seconds(3))
            #expect(server.listeners("/edge") == 1, "the listener stayed")
            await server.stop()
            feedingOrigin.cancel()
            await origin.stop()
            let heard = await stream.value
            #expect(frameCount(in: heard, from: Fixture.otherMP3) > 20, "the live source's frames")
            #expect(frameCount(in: heard, from: Fixture.mp3) > 60, "then the relay's")
            #expect(isWholeFrames(heard))
        }

        /// Upstreams that misbehave, one way each (Scripts/bad_upstream.py): an HTML page, random bytes as
        /// audio/mpeg, a redirect loop, a head that never ends, a stream that stalls. Each is logged with its reason
        /// and retried with growing waits, and a mount with a real source beside them plays on undisturbed.
        @Test func badUpstreamsAreLoggedRetriedAndHarmNoListener() async throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/bad_upstream.py").path
            let upstream = try ExternalProcess("python3", [script])
            var output = ""
            #expect(await eventually(timeout: 10) {
                output += String(decoding: upstream.availableOutput(), as: UTF8.self)
                return output.contains("\n")
            })
            let port = try #require(Int(output.prefix { $0 != "\n" }))
            let paths = ["/html", "/garbage", "/redirect", "/endless-header", "/stall"]
            let log = LogCapture()
            let server = try await TestServer(log: log) {
                $0.limits.sourceTimeout = 2
                $0.relay.relays = paths.map { path in
                    .init(upstreams: [.init(url: "http://127.0.0.1:\(port)\(path)")], localMount: "/bad" + path, hold: 0)
                }
            }
            let (_, feeding) = try await liveSource(port: server.port, mount: "/good")
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/good")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = listener.receiveAllInBackground(prefix: rest)
            let started = ContinuousClock.now
            try await Task.sleep(for: .seconds(12))
            let elapsed = ContinuousClock.now - started
            feeding.cancel()
            await server.stop()
            upstream.terminate()
            output += String(decoding: upstream.availableOutput(), as: UTF8.self)
            let heard = await stream.value

            // The good mount's listener heard the whole time, at the stream's pace (38.3 frames a second).
            let frames = frameCount(in: heard, from: Fixture.mp3)
            #expect(Double(frames) >= 38.3 * (elapsed / .seconds(1) - 1), "the good listener heard \(frames) frames")
            #expect(isWholeFrames(heard))
            let reasons = [
                "/html": "not an audio stream (Content-Type: text/html)",
                "/garbage": "no MPEG audio frame in the first 128 KiB",
                "/redirect": "too many redirects",
                "/endless-header": "response head larger than 64 KiB",
                "/stall": "sent nothing for 2 s",
            ]
            for path in paths {
                let times = output.split(separator: "\n").filter { $0.hasPrefix("REQUEST \(path) ") }.compactMap { Double($0.split(separator: " ")[2]) }
                // The redirect loop counts one attempt per six requests (the first and five redirects).
                let attempts = path == "/redirect" ? times.count / 6 : times.count
                #expect(attempts >= 2, "\(path) was retried: \(times)")
                #expect(attempts <= 6, "\(path) was retried with waits, not hammered: \(times)")
                let failures = log.lines(containing: "Relay upstream failed; retrying", "mount.path=/bad\(path)")
                #expect(!failures.isEmpty, "\(path) failures are logged")
                #expect(failures.allSatisfy { $0.contains(reasons[path]!) }, "\(path): \(failures.first ?? "")")
            }
        }

        /// Two relays of the same upstream mount share one connection: the origin has one listener, and both
        /// local mounts play its bytes and titles.
        @Test func relaysOfOneUpstreamMountShareItsConnection() async throws {
            let origin = try await TestServer()
            let (_, feeding) = try await liveSource(port: origin.port, mount: "/origin")
            let (originListener, _, originRest) = try rawListener(port: origin.port, mount: "/origin")
            let originStream = originListener.receiveAllInBackground(prefix: originRest)
            let url = "http://127.0.0.1:\(origin.port)/origin"
            let server = try await TestServer {
                $0.relay.relays = [
                    .init(upstreams: [.init(url: url)], localMount: "/a"),
                    .init(upstreams: [.init(url: url)], localMount: "/b"),
                ]
            }
            #expect(await server.waitUntil { server.isLive("/a") && server.isLive("/b") })
            #expect(origin.listeners("/origin") == 2, "one relay connection besides the test's listener")
            let (a, _, aRest) = try rawListener(port: server.port, mount: "/a")
            let (b, _, bRest) = try rawListener(port: server.port, mount: "/b")
            let aStream = a.receiveAllInBackground(prefix: aRest)
            let bStream = b.receiveAllInBackground(prefix: bRest)
            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(origin.port)/admin/metadata?mount=/origin&mode=updinfo&song=Shared"])
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            #expect(await server.waitUntil(timeout: 5) {
                server.server.mountState("/a")?.metadata.title == "Shared" && server.server.mountState("/b")?.metadata.title == "Shared"
            })
            try await Task.sleep(for: .seconds(2))
            #expect(origin.listeners("/origin") == 2)
            feeding.cancel()
            await server.stop()
            await origin.stop()
            let originBytes = await originStream.value
            for (mount, heard) in [("/a", await aStream.value), ("/b", await bStream.value)] {
                #expect(heard.count > 2 * 16_000, "\(mount) got \(heard.count) bytes")
                #expect(originBytes.firstRange(of: Array(heard.prefix(16_384))) != nil, "\(mount) plays the origin's bytes")
                #expect(isWholeFrames(heard))
            }
        }

        /// A reload adds a second relay of the same upstream mount: it joins the running relay's connection, and
        /// the first mount's listener is not disturbed; a reload that removes it again ends only that mount.
        @Test func aReloadAddsAndRemovesASharingRelayWithoutRestartingTheFirst() async throws {
            let origin = try await TestServer()
            let (_, feeding) = try await liveSource(port: origin.port, mount: "/origin")
            let url = "http://127.0.0.1:\(origin.port)/origin"
            let server = try await TestServer { $0.relay.relays = [.init(upstreams: [.init(url: url)], localMount: "/a")] }
            #expect(await server.waitUntil { server.isLive("/a") })
            let (listener, _, rest) = try rawListener(port: server.port, mount: "/a")
            let stream = listener.receiveAllInBackground(prefix: rest)
            try await Task.sleep(for: .seconds(1))

            var both = server.configuration
            both.relay.relays = [.init(upstreams: [.init(url: url)], localMount: "/a"), .init(upstreams: [.init(url: url)], localMount: "/b")]
            server.server.reload(both)
            #expect(await server.waitUntil { server.isLive("/b") }, "the new relay's mount is fed")
            #expect(origin.listeners("/origin") == 1, "from the same upstream connection")
            let (b, bHead, _) = try rawListener(port: server.port, mount: "/b")
            #expect(bHead.hasPrefix("HTTP/1.0 200 OK"))
            server.server.reload(server.configuration)
            #expect(b.isClosedByPeer(within: 5), "the removed relay's mount ends")
            try await Task.sleep(for: .seconds(1))
            #expect(server.listeners("/a") == 1 && server.isLive("/a"), "the first mount played on")
            #expect(origin.listeners("/origin") == 1)
            feeding.cancel()
            await server.stop()
            await origin.stop()
            let heard = await stream.value
            #expect(isWholeFrames(heard))
            #expect(heard.count > 16_000, "the first mount's listener heard \(heard.count) bytes")
        }

        /// Floe relays Floe: origin → edge → leaf. The leaf's listener gets the origin's bytes, whole frames, and a
        /// title set at the origin reaches the leaf.
        @Test func aChainOfFloeServersCarriesFramesAndTitles() async throws {
            let origin = try await TestServer()
            let source = try rawSource(port: origin.port, mount: "/live")
            let feeding = streamUntilCancelled(source)
            #expect(await origin.waitUntil { origin.isLive("/live") })
            let (originListener, _, originRest) = try rawListener(port: origin.port, mount: "/live")
            let originStream = originListener.receiveAllInBackground(prefix: originRest)
            let edge = try await TestServer {
                $0.relay.relays = [.init(upstreams: [.init(url: "http://127.0.0.1:\(origin.port)/live")], localMount: "/live")]
            }
            #expect(await edge.waitUntil { edge.isLive("/live") })
            let leaf = try await TestServer {
                $0.relay.relays = [.init(upstreams: [.init(url: "http://127.0.0.1:\(edge.port)/live")], localMount: "/radio")]
            }
            #expect(await leaf.waitUntil { leaf.isLive("/radio") })
            let (leafListener, leafHead, leafRest) = try rawListener(port: leaf.port, mount: "/radio")
            #expect(leafHead.hasPrefix("HTTP/1.0 200 OK"))
            let leafStream = leafListener.receiveAllInBackground(prefix: leafRest)

            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(origin.port)/admin/metadata?mount=/live&mode=updinfo&song=Down%20the%20chain"])
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            #expect(await leaf.waitUntil(timeout: 5) { leaf.server.mountState("/radio")?.metadata.title == "Down the chain" })
            try await Task.sleep(for: .seconds(2))
            feeding.cancel()
            await origin.stop()
            await edge.stop()
            await leaf.stop()
            let originBytes = await originStream.value
            let leafBytes = await leafStream.value
            #expect(leafBytes.count > 2 * 16_000, "the leaf listener got \(leafBytes.count) bytes")
            #expect(originBytes.firstRange(of: Array(leafBytes.prefix(16_384))) != nil, "the leaf's bytes are the origin's")
            #expect(frameCount(in: leafBytes, from: Fixture.mp3) >= leafBytes.count / 418 - 2, "whole frames")
        }

        /// The listeners Icecast has on `mount`, by user agent (its `/admin/listclients`).
        func upstreamListenerAgents(_ icecast: IcecastServer, mount: String) async throws -> [String] {
            let reply = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(icecast.port)/admin/listclients?mount=\(mount)"])
            let xml = String(decoding: reply.stdout, as: UTF8.self)
            return xml.components(separatedBy: "<UserAgent>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        }

        /// An on-demand relay: no upstream connection until a listener arrives; that listener gets audio; the relay
        /// leaves the upstream once the mount has had no listener for the linger time.
        @Test func onDemandRelayConnectsForAListenerAndLeavesAfterTheLast() async throws {
            let icecast = try await IcecastServer()
            let (_, feeding) = try await liveSource(port: icecast.port, mount: "/origin")
            let server = try await TestServer {
                $0.relay.relays = [
                    .init(upstreams: [.init(url: "http://127.0.0.1:\(icecast.port)/origin")], localMount: "/edge",
                          onDemand: true, onDemandLinger: 1)
                ]
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await upstreamListenerAgents(icecast, mount: "/origin").isEmpty, "no relay connection without listeners")
            #expect(!server.isLive("/edge"))

            let asked = ContinuousClock.now
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/edge")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"), "the listener waits for the relay, then is served: \(head)")
            let audio = try receiveAudio(listener, after: rest, atLeast: 16_000)
            #expect(ContinuousClock.now - asked < .seconds(3), "audio within a second or two of asking")
            #expect(Fixture.frameAlignedOffset(of: Array(audio.prefix(4096))) != nil, "the upstream's frames")
            #expect(try await upstreamListenerAgents(icecast, mount: "/origin") == ["Floe/\(FloeVersion.string) (relay)"])

            listener.shutdownWrite()
            #expect(await server.waitUntil(timeout: 10) { !server.isLive("/edge") }, "the relay left after the last listener")
            // Icecast notices a closed listener at its next write.
            var agents = try await upstreamListenerAgents(icecast, mount: "/origin")
            for _ in 0..<20 where !agents.isEmpty {
                try await Task.sleep(for: .milliseconds(250))
                agents = try await upstreamListenerAgents(icecast, mount: "/origin")
            }
            #expect(agents.isEmpty, "the upstream lost its relay listener: \(agents)")
            feeding.cancel()
            await server.stop()
        }

        /// Floe as the master of a real Icecast 2.4.4 slave: Icecast reads Floe's `/admin/streamlist.txt` with the
        /// relay credentials and relays every mount listed; its listener gets Floe's frames.
        @Test func icecastSlavesFromFloe() async throws {
            let server = try await TestServer { $0.authentication.relayPassword = "relay-pw" }
            let source = try rawSource(port: server.port, mount: "/live")
            let feeding = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/live") })
            let icecast = try await IcecastServer(extra: """
                <master-server>127.0.0.1</master-server><master-server-port>\(server.port)</master-server-port>
                <master-update-interval>1</master-update-interval>
                <master-username>relay</master-username><master-password>relay-pw</master-password>
                """)
            try await waitForMount(port: icecast.port, mount: "/live")
            let (listener, head, rest) = try rawListener(port: icecast.port, mount: "/live")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"), "Icecast relays Floe's mount: \(head) \(icecast.errorLog)")
            let audio = try receiveAudio(listener, after: rest, atLeast: 32_000)
            #expect(frameCount(in: audio, from: Fixture.mp3) >= audio.count / 418 - 2, "whole frames of Floe's source")
            feeding.cancel()
            icecast.stop()
            await server.stop()
        }

        /// Floe as the slave of a real Icecast 2.4.4 master: it reads the master's stream list and relays every
        /// mount on it; a mount that leaves the list loses its relay.
        @Test func floeSlavesFromAnIcecastMaster() async throws {
            let icecast = try await IcecastServer()
            let (a, feedingA) = try await liveSource(port: icecast.port, mount: "/a")
            let (_, feedingB) = try await liveSource(port: icecast.port, mount: "/b", Fixture.otherMP3)
            let server = try await TestServer {
                $0.relay.masterServer = "127.0.0.1"
                $0.relay.masterServerPort = icecast.port
                $0.relay.masterUsername = "relay"
                $0.relay.masterPassword = TestServer.adminPassword
                $0.relay.masterUpdateInterval = 1
            }
            #expect(await server.waitUntil { server.isLive("/a") && server.isLive("/b") }, "every listed mount relayed")
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/b")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let audio = try receiveAudio(listener, after: rest, atLeast: 32_000)
            #expect(frameCount(in: audio, from: Fixture.otherMP3) >= audio.count / 418 - 2, "whole frames of the master's /b")

            feedingA.cancel()
            a.shutdownWrite()
            #expect(await server.waitUntil(timeout: 8) { !server.isLive("/a") }, "/a left the list, and its relay went")
            #expect(server.isLive("/b"))
            feedingB.cancel()
            await server.stop()
        }
    }
}
