import FloeCore
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// Listeners: response headers, exact relayed bytes, ICY metadata, and isolation from slow or hostile peers.
    @Suite("Listeners", .serialized)
    struct ListenerTests {
        @Test func missingMountIs404WithIcecastBody() async throws {
            let server = try await TestServer()
            let socket = try RawSocket(port: server.port)
            try socket.send(requestHead("GET /nothing HTTP/1.0"))
            let reply = String(decoding: socket.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 404 File Not Found\r\n"))
            #expect(reply.contains("Content-Type: text/html; charset=utf-8\r\n"))
            #expect(reply.hasSuffix("<b>404 - The file you requested could not be found</b></body></html>\r\n"))
            await server.stop()
        }

        @Test func responseHeadersFollowIcecastAndQueryIsIgnored() async throws {
            let server = try await TestServer()
            let source = try rawSource(
                port: server.port,
                mount: "/head.mp3",
                headers: ["ice-name: My Stream", "ice-genre: Rock", "ice-public: 1", "ice-audio-info: bitrate=128;samplerate=44100", "X-Custom: no"]
            )
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            let (_, head, _) = try rawListener(port: server.port, mount: "/head.mp3?nocache=123", headers: ["Icy-MetaData: 1"])
            let lines = head.components(separatedBy: "\r\n")
            #expect(lines[0] == "HTTP/1.0 200 OK")
            #expect(lines.contains("Content-Type: audio/mpeg"))
            #expect(lines.contains("icy-name:My Stream"))
            #expect(lines.contains("icy-genre:Rock"))
            #expect(lines.contains("icy-pub:1"))
            #expect(lines.contains("icy-br:128"))
            #expect(lines.contains("icy-metaint:16000"))
            #expect(lines.contains("Access-Control-Allow-Origin: *"))
            // Never a page or script of this origin, whatever its source declares.
            #expect(lines.contains("X-Content-Type-Options: nosniff") && lines.contains("Content-Security-Policy: sandbox"))
            #expect(!head.lowercased().contains("content-length"))
            #expect(!head.lowercased().contains("x-custom"))

            // HEAD: the same headers, no body; OPTIONS: a CORS preflight answer.
            let headSocket = try RawSocket(port: server.port)
            try headSocket.send(requestHead("HEAD /head.mp3 HTTP/1.1"))
            let headReply = String(decoding: headSocket.receiveAll(), as: UTF8.self)
            #expect(headReply.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(headReply.hasSuffix("\r\n\r\n"))
            #expect(headReply.contains("icy-name:My Stream"))
            let options = try RawSocket(port: server.port)
            try options.send(requestHead("OPTIONS /head.mp3 HTTP/1.1", ["Origin: http://example.org", "Access-Control-Request-Headers: icy-metadata"]))
            let optionsReply = String(decoding: options.receiveAll(), as: UTF8.self)
            #expect(optionsReply.hasPrefix("HTTP/1.0 204 No Content\r\n"))
            #expect(optionsReply.contains("Access-Control-Allow-Headers: Content-Type, Icy-MetaData, Range\r\n"))
            #expect(optionsReply.contains("Icy-MetaInt"))
            await server.stop()
        }

        @Test func relayedBytesAreAFrameAlignedExcerptAndManyListenersGetIdenticalBytes() async throws {
            // More listeners than one fan-out slice (256), on one loop, so passes are split and resumed.
            let listenerCount = 300
            let server = try await TestServer(threads: 1) { $0.limits.burstSize = 16 * 1024 }
            let source = try rawSource(port: server.port, mount: "/fifty")
            // Some stream first, so listeners join mid-stream and get a burst: they join once the server has read it.
            try await sendPaced(source, Array(Fixture.mp3.prefix(100_000)))
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/fifty\"}", default: 0] >= 100_000 })
            var listeners: [(RawSocket, [UInt8])] = []
            for _ in 0..<listenerCount {
                let (socket, head, rest) = try rawListener(port: server.port, mount: "/fifty")
                #expect(head.hasPrefix("HTTP/1.0 200 OK"))
                listeners.append((socket, rest))
            }
            #expect(await server.waitUntil { server.listeners("/fifty") == listenerCount })
            try await sendPaced(source, Array(Fixture.mp3[100_000...]))
            source.shutdownWrite()
            // The source ends: every listener's stream ends too; read to the end.
            var streams: [[UInt8]] = []
            for (socket, rest) in listeners {
                streams.append(rest + socket.receiveAll())
            }
            let first = try #require(streams.first)
            let offset = try #require(Fixture.frameAlignedOffset(of: first), "not a frame-aligned excerpt of the source")
            #expect(offset + first.count == Fixture.mp3.count, "the excerpt runs to the end of what the source sent")
            #expect(Fixture.mp3.count - offset >= Fixture.mp3.count - 100_000 + 16 * 1024, "burst of at least 16 KiB")
            let differing = streams.indices.filter { streams[$0] != first }
            #expect(differing.isEmpty, "listeners whose bytes differ from the first one's: \(differing)")
            await server.stop()
        }

        @Test func icyBlocksSitAtExactOffsetsAndCarryTheTitle() async throws {
            let server = try await TestServer { $0.mounts["/icy"] = .init(metadataInterval: 8192) }
            let source = try rawSource(port: server.port, mount: "/icy")
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/icy", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("icy-metaint:8192"))
            try await sendPaced(source, Array(Fixture.mp3.prefix(60_000)))
            let admin = try RawSocket(port: server.port)
            try admin.send(
                requestHead(
                    "GET /admin/metadata?mount=%2ficy&mode=updinfo&charset=UTF-8&song=AC%2fDC%20-%20It%27s%20%C3%A9t%C3%A9 HTTP/1.0",
                    ["Authorization: \(basicAuthorization("admin", TestServer.adminPassword))"]
                )
            )
            let reply = String(decoding: admin.receiveAll(), as: UTF8.self)
            #expect(reply.hasSuffix("<iceresponse><message>Metadata update successful</message><return>1</return></iceresponse>\n"))
            try await sendPaced(source, Array(Fixture.mp3[60_000...]))
            source.shutdownWrite()
            let stream = ICYStream(rest + listener.receiveAll(), interval: 8192)
            #expect(stream.isWellFormed)
            #expect(sameBytes(stream.audio, Fixture.mp3), "audio between metadata blocks is the source's stream, intact")
            // First block: the (empty) title at connect; later the new title once, then unchanged markers.
            #expect(stream.blocks.first == "")
            let titled = stream.blocks.compactMap { $0 }.filter { !$0.isEmpty }
            #expect(titled == ["AC/DC - It's été"])
            #expect(stream.blocks.count == Fixture.mp3.count / 8192)
        }

        @Test func stalledListenerIsDroppedWhileAnotherKeepsFullRate() async throws {
            let server = try await TestServer { $0.limits.queueSize = 96 * 1024 }
            let source = try rawSource(port: server.port, mount: "/slow")
            // A listener that never reads, with a tiny receive window.
            let (stalled, _, _) = try rawListener(port: server.port, mount: "/slow", receiveBuffer: 2048)
            let (healthy, _, rest) = try rawListener(port: server.port, mount: "/slow")
            #expect(await server.waitUntil { server.listeners("/slow") == 2 })
            let copies = 40
            let reader = healthy.receiveAllInBackground(prefix: rest, limit: copies * Fixture.mp3.count)
            // 5 MB as fast as the sockets take it: past the stalled listener's kernel buffers (which autotune up to
            // megabytes on loopback), NIO's high-water mark and the 96 KiB queue.
            for _ in 0..<copies { try source.send(Fixture.mp3) }
            #expect(await server.waitUntil { server.server.mountState("/slow")?.slowListeners == 1 })
            #expect(stalled.isClosedByPeer(within: 5))
            source.shutdownWrite()
            let received = await reader.value
            #expect(received.count == copies * Fixture.mp3.count, "the reading listener got every byte")
            await server.stop()
        }

        @Test func garbageAndHugeHeadersGetClearErrorsAndHurtNobody() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/calm")
            let (listener, _, rest) = try rawListener(port: server.port, mount: "/calm")
            let feeder = Task.detached { try await sendPaced(source, Fixture.mp3, chunk: 8192, pause: .milliseconds(20)) }

            let huge = try RawSocket(port: server.port)
            let bigHead = "GET /calm HTTP/1.0\r\nX-Filler: " + String(repeating: "x", count: 200_000) + "\r\n\r\n"
            try? huge.send(bigHead)
            let hugeReply = String(decoding: huge.receiveAll(), as: UTF8.self)
            #expect(hugeReply.hasPrefix("HTTP/1.0 431 Request Header Fields Too Large\r\n"))

            for garbage in ["\u{01}\u{02}garbage\r\n\r\n", "GET\r\n\r\n", "GET /calm FOO/1.0\r\n\r\n", "BREW /calm HTTP/1.0\r\n\r\n"] {
                let socket = try RawSocket(port: server.port)
                try socket.send(garbage)
                let reply = String(decoding: socket.receiveAll(), as: UTF8.self)
                #expect(reply.hasPrefix("HTTP/1.0 400 ") || reply.hasPrefix("HTTP/1.0 405 "), "reply to \(garbage.debugDescription): \(reply)")
            }
            try await feeder.value
            source.shutdownWrite()
            let received = rest + listener.receiveAll()
            #expect(Fixture.frameAlignedOffset(of: received) == 0)
            #expect(received.count == Fixture.mp3.count)
            await server.stop()
        }

        @Test func zeroMetadataIntervalMeansNoMetadataRatherThanACrash() async throws {
            let server = try await TestServer { $0.mounts["/zero"] = .init(metadataInterval: 0) }
            let source = try rawSource(port: server.port, mount: "/zero")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            let (_, head, _) = try rawListener(port: server.port, mount: "/zero", headers: ["Icy-MetaData: 1"])
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            #expect(!head.contains("icy-metaint"))
            let (_, again, _) = try rawListener(port: server.port, mount: "/zero")
            #expect(again.hasPrefix("HTTP/1.0 200 OK"), "the server is still up")
            await server.stop()
        }

        @Test func slowRequestHeadIsCutOffAtHeaderTimeout() async throws {
            let server = try await TestServer { $0.limits.headerTimeout = 0.3 }
            let socket = try RawSocket(port: server.port)
            try socket.send("GET /x HTTP/1.0\r\n")
            let reply = String(decoding: socket.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 408 "))
            await server.stop()
        }

        @Test func listenerLimitsGive403() async throws {
            let server = try await TestServer { $0.mounts["/small"] = .init(maxListeners: 1) }
            let source = try rawSource(port: server.port, mount: "/small")
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            let (first, _, _) = try rawListener(port: server.port, mount: "/small")
            let second = try RawSocket(port: server.port)
            try second.send(requestHead("GET /small HTTP/1.0"))
            let reply = String(decoding: second.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
            #expect(reply.hasSuffix("max listeners reached"))
            _ = first
            await server.stop()
        }

        /// A full mount with `redirect-when-full` sends the next listener to another edge, same path and query;
        /// curl follows it there.
        @Test func fullMountRedirectsToAnotherEdge() async throws {
            let edge = try await TestServer()
            let edgeSource = try rawSource(port: edge.port, mount: "/small")
            let feeding = streamUntilCancelled(edgeSource)
            let server = try await TestServer {
                var small = MountConfiguration(maxListeners: 1)
                small.redirectWhenFull = "http://127.0.0.1:\(edge.port)"
                $0.mounts["/small"] = small
            }
            let source = try rawSource(port: server.port, mount: "/small")
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            let (first, _, _) = try rawListener(port: server.port, mount: "/small")
            let second = try RawSocket(port: server.port)
            try second.send(requestHead("GET /small?token=7 HTTP/1.0"))
            let reply = String(decoding: second.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 302 Found\r\n"))
            #expect(reply.contains("\r\nLocation: http://127.0.0.1:\(edge.port)/small?token=7\r\n"))
            #expect(await edge.waitUntil { edge.isLive("/small") })
            let followed = try await ExternalProcess.run(
                "curl", ["-s", "-L", "--max-time", "2", "-o", "/dev/null", "-w", "%{http_code} %{url_effective}",
                         "http://127.0.0.1:\(server.port)/small"])
            #expect(String(decoding: followed.stdout, as: UTF8.self) == "200 http://127.0.0.1:\(edge.port)/small")
            _ = first
            feeding.cancel()
            await server.stop()
            await edge.stop()
        }

        /// A server at `clients` with `redirect-when-full`: a new listener is sent to the other edge (curl follows
        /// and plays there); a source beyond the limit is still refused.
        @Test func fullServerRedirectsListenersToAnotherEdge() async throws {
            let edge = try await TestServer()
            let feeding = streamUntilCancelled(try rawSource(port: edge.port, mount: "/live"))
            #expect(await edge.waitUntil { edge.isLive("/live") })
            let server = try await TestServer {
                $0.limits.clients = 2
                $0.limits.redirectWhenFull = "http://127.0.0.1:\(edge.port)"
            }
            let a = try RawSocket(port: server.port)
            let b = try RawSocket(port: server.port)
            #expect(await server.waitUntil { server.server.connectionCount == 2 })
            let followed = try await ExternalProcess.run(
                "curl", ["-s", "-L", "--max-time", "2", "-o", "/dev/null", "-w", "%{http_code} %{url_effective}",
                         "http://127.0.0.1:\(server.port)/live?x=1"])
            #expect(String(decoding: followed.stdout, as: UTF8.self) == "200 http://127.0.0.1:\(edge.port)/live?x=1")
            let source = try RawSocket(port: server.port)
            try source.send(requestHead("SOURCE /other HTTP/1.0", ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))"]))
            #expect(String(decoding: source.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
            _ = (a, b)
            feeding.cancel()
            await server.stop()
            await edge.stop()
        }

        @Test func clientLimitRefusesExtraConnections() async throws {
            let server = try await TestServer { $0.limits.clients = 2 }
            let a = try RawSocket(port: server.port)
            let b = try RawSocket(port: server.port)
            #expect(await server.waitUntil { server.server.connectionCount == 2 })
            let c = try RawSocket(port: server.port)
            let reply = String(decoding: c.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
            #expect(reply.hasSuffix("Icecast connection limit reached"))
            _ = (a, b)
            await server.stop()
        }

        /// `max-listeners-per-ip`: one address gets that many listeners at once, then 403 until one leaves.
        @Test func listenersPerAddressAreLimited() async throws {
            let server = try await TestServer { $0.limits.maxListenersPerIP = 2 }
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            #expect(await server.waitUntil { server.isLive("/live") })
            let (first, firstHead, _) = try rawListener(port: server.port, mount: "/live")
            let (second, secondHead, _) = try rawListener(port: server.port, mount: "/live")
            #expect(firstHead.hasPrefix("HTTP/1.0 200 OK") && secondHead.hasPrefix("HTTP/1.0 200 OK"))
            let third = try RawSocket(port: server.port)
            try third.send(requestHead("GET /live HTTP/1.0"))
            let refused = String(decoding: third.receiveAll(), as: UTF8.self)
            #expect(refused.hasPrefix("HTTP/1.0 403 ") && refused.hasSuffix("Too many listeners from your address"), "\(refused)")
            first.shutdownWrite()
            #expect(await server.waitUntil { server.listeners("/live") == 1 })
            let (again, againHead, _) = try rawListener(port: server.port, mount: "/live")
            #expect(againHead.hasPrefix("HTTP/1.0 200 OK"), "a place was freed")
            _ = (second, again, source)
            await server.stop()
        }

        /// A mount's own `max-listeners-per-ip` counts that mount's listeners only.
        @Test func aMountsListenersPerAddressAreLimitedOnThatMount() async throws {
            let server = try await TestServer { $0.mounts["/small"] = .init(maxListenersPerIP: 1) }
            var sources: [RawSocket] = []
            for mount in ["/small", "/other"] {
                let source = try rawSource(port: server.port, mount: mount)
                try source.send(Array(Fixture.mp3.prefix(20_000)))
                #expect(await server.waitUntil { server.isLive(mount) })
                sources.append(source)
            }
            let (first, firstHead, _) = try rawListener(port: server.port, mount: "/small")
            #expect(firstHead.hasPrefix("HTTP/1.0 200 OK"))
            let (_, secondHead, _) = try rawListener(port: server.port, mount: "/small")
            #expect(secondHead.hasPrefix("HTTP/1.0 403 "), "\(secondHead)")
            let (others, othersHead, _) = try rawListener(port: server.port, mount: "/other")
            let (more, moreHead, _) = try rawListener(port: server.port, mount: "/other")
            #expect(othersHead.hasPrefix("HTTP/1.0 200 OK") && moreHead.hasPrefix("HTTP/1.0 200 OK"), "other mounts are not limited")
            _ = (first, others, more, sources)
            await server.stop()
        }

        /// `max-pending-per-ip`: connections from one address that have not sent their head are capped; the next
        /// one gets 503 at once, and a request that completes its head frees its place.
        @Test func connectionsStillSendingTheirHeadArePerAddressCapped() async throws {
            let server = try await TestServer { $0.limits.maxPendingPerIP = 5 }
            var silent: [RawSocket] = []
            for _ in 0..<5 { silent.append(try RawSocket(port: server.port)) }
            #expect(await server.waitUntil { server.server.connectionCount == 5 })
            let sixth = try RawSocket(port: server.port)
            let refused = String(decoding: sixth.receiveAll(), as: UTF8.self)
            #expect(refused.hasPrefix("HTTP/1.0 503 ") && refused.contains("Too many connections from your address"), "\(refused)")
            // One of them finishes its request: it no longer counts, and a new connection is taken.
            try silent[0].send(requestHead("GET /nothing HTTP/1.0"))
            #expect(String(decoding: silent[0].receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.0 404"))
            let next = try RawSocket(port: server.port)
            try next.send(requestHead("GET /nothing HTTP/1.0"))
            #expect(String(decoding: next.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.0 404"))
            _ = silent
            await server.stop()
        }

        /// `burst-duration` sizes the burst in play time: listeners of a 320 kbit/s and of a 64 kbit/s mount start
        /// about as far behind live (where `burst-size: 64 KiB` would give them 1.6 s and 8 s). A mount's own
        /// setting overrides the global one.
        @Test func aBurstInSecondsIsThePlayTimeWhateverTheBitrate() async throws {
            let fast = SineMP3.make(seconds: 6, bitrate: 320)
            let slow = SineMP3.make(seconds: 6, bitrate: 64, channels: 1)
            let server = try await TestServer {
                $0.limits.burstDuration = 2
                $0.mounts["/short"] = .init(burstDuration: 1)
            }
            var sources: [RawSocket] = []
            for (mount, bytes) in [("/fast", fast), ("/slow", slow), ("/short", slow)] {
                let source = try rawSource(port: server.port, mount: mount)
                try source.send(bytes)
                sources.append(source)
            }
            #expect(try await eventually {
                let metrics = try await prometheusMetrics(port: server.port)
                return metrics["floe_bytes_in_total{mount=\"/fast\"}", default: 0] >= Double(fast.count)
                    && metrics["floe_bytes_in_total{mount=\"/slow\"}", default: 0] >= Double(slow.count)
                    && metrics["floe_bytes_in_total{mount=\"/short\"}", default: 0] >= Double(slow.count)
            })
            for (mount, expected) in [("/fast", 2.0), ("/slow", 2.0), ("/short", 1.0)] {
                // The burst arrives at once; then nothing more, as the sources send nothing more.
                let socket = try RawSocket(port: server.port, timeout: 1)
                try socket.send(requestHead("GET \(mount) HTTP/1.0"))
                var (_, burst) = try socket.receiveHead()
                while let more = try? socket.receive(), !more.isEmpty { burst += more }
                let frames = MPEGFrameSynchronizer.frames(in: burst)
                let seconds = Double(frames.count * 1152) / 44_100
                // Whole blocks of about half a second: at least the burst, less than a block more.
                #expect(seconds >= expected && seconds < expected + 0.6, "\(mount): a burst of \(seconds) s")
            }
            _ = sources
            await server.stop()
        }

        /// Ogg and WebM mounts count play time by the stream's own timestamps (granule positions, cluster
        /// Timecodes), whatever the codec and bitrate: `burst-duration: 2` gives a late listener two seconds of
        /// audio (where the old guess of 128 kbit/s gave 10 s of a 24 kbit/s stream, or too little of a FLAC one).
        /// Status shows their media time and measured bitrate (and for Ogg the sample rate).
        @Test(arguments: [
            ("ogg", "libopus", ["-b:a", "24k"], 48_000), ("ogg", "libvorbis", ["-ar", "22050", "-b:a", "32k"], 22_050),
            ("ogg", "flac", ["-ar", "44100"], 44_100), ("webm", "libopus", ["-b:a", "24k", "-cluster_time_limit", "500"], 48_000),
        ])
        func burstsInSecondsCountTheStreamsTimestamps(container: String, codec: String, options: [String], rate: Int) async throws {
            let directory = try TemporaryDirectory()
            let input = directory.path("tone.\(container)")
            let encode = try await ExternalProcess.run(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:a=0.2", "-ac", "1", "-c:a", codec]
                    + options + ["-f", container, "-y", input]
            )
            #expect(encode.status == 0, "\(encode.stderr)")
            let file = try Array(Data(contentsOf: URL(fileURLWithPath: input)))
            let server = try await TestServer { $0.limits.burstDuration = 2 }
            let source = try rawSource(port: server.port, mount: "/timed.\(container)", contentType: container == "ogg" ? "application/ogg" : "audio/webm")
            try source.send(file)
            #expect(try await eventually {
                try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/timed.\(container)\"}", default: 0] >= Double(file.count)
            })

            // Status: media time by the timestamps (WebM's last cluster is counted at the next, which never
            // comes), the bitrate measured from it, and the sample rate where the stream has one.
            let stats = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/stats.json"]
            )
            let root = try JSONSerialization.jsonObject(with: Data(stats.stdout)) as? [String: Any]
            let sources = (root?["icestats"] as? [String: Any])?["sources"] as? [[String: Any]]
            let status = try #require(sources?.first { $0["mount"] as? String == "/timed.\(container)" })
            let media = try #require(Double("\(status["floe_media_seconds"] ?? "")"))
            #expect(abs(media - (container == "ogg" ? 20 : 19.75)) < 0.3, "\(container) \(codec): \(media) s of media in status")
            #expect("\(status["floe_sample_rate"] ?? "none")" == (container == "ogg" ? "\(rate)" : "none"))
            let bitrate = try #require(Double("\(status["floe_measured_bitrate"] ?? "")"))
            #expect(abs(bitrate - Double(file.count * 8) / 20) < 0.1 * bitrate, "\(container) \(codec): measured \(bitrate) bit/s")

            // The burst arrives at once; then nothing more, as the source sends nothing more.
            let socket = try RawSocket(port: server.port, timeout: 1)
            try socket.send(requestHead("GET /timed.\(container) HTTP/1.0"))
            var (_, burst) = try socket.receiveHead()
            while let more = try? socket.receive(), !more.isEmpty { burst += more }
            let received = directory.path("burst.\(container)")
            try Data(burst).write(to: URL(fileURLWithPath: received))
            let decode = try await ExternalProcess.run("ffmpeg", ["-hide_banner", "-v", "error", "-i", received, "-f", "s16le", "-ac", "1", "-"])
            let seconds = Double(decode.stdout.count / 2) / Double(rate)
            // Whole blocks of at most 8 KiB (the source sent all at once): at least the burst, less than a block more
            // (and, in WebM, a cluster more: its time is credited where the next cluster starts).
            let block = 8192 * 8 / bitrate + (container == "webm" ? 0.5 : 0)
            #expect(seconds >= 1.9 && seconds < 2 + block + 0.2, "\(container) \(codec): a burst of \(seconds) s (blocks of \(block) s)")
            await server.stop()
        }
    }
}
