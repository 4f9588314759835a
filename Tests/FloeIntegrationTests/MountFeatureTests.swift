import FloeCore
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// Per-mount features: SHOUTcast v1 sources, intros, dump files, scripts, listener time limits.
    @Suite("Mount features", .serialized)
    struct MountFeatureTests {
        /// A server whose one listen socket also takes SHOUTcast sources for `/sc` on the next port. Port 0 cannot
        /// promise that the next port is free, so a few tries may be needed.
        func shoutcastServer(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
            var lastError: Error?
            for _ in 0..<5 {
                do {
                    return try await TestServer {
                        $0.listenSockets = [.init(bindAddress: "127.0.0.1", port: 0, shoutcastMount: "/sc")]
                        configure(&$0)
                    }
                } catch {
                    lastError = error
                }
            }
            throw lastError!
        }

        /// `/admin.cgi` follows `/admin/metadata`'s rule: an Ogg Opus stream keeps its own titles (it overwrote them;
        /// found by a probe).
        @Test func adminCGILeavesTheTitlesOfAnOpusStreamAlone() async throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("opus.ogg")
            let encode = try await ExternalProcess.run(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=3:c=pink:a=0.3", "-c:a", "libopus",
                 "-b:a", "64k", "-metadata", "title=Own Title", "-f", "ogg", "-y", path]
            )
            #expect(encode.status == 0, "\(encode.stderr)")
            let server = try await shoutcastServer()
            let source = try rawSource(port: server.port, mount: "/sc", contentType: "application/ogg")
            try source.send(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            #expect(await server.waitUntil { server.server.mountState("/sc")?.metadata.title == "Own Title" })
            let cgi = try await ExternalProcess.run(
                "curl", ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(server.port)/admin.cgi?pass=\(TestServer.sourcePassword)&mode=updinfo&song=Via%20CGI"])
            let reply = String(decoding: cgi.stdout, as: UTF8.self)
            #expect(reply.hasSuffix("\n400") && reply.contains("will not accept URL updates"), "\(reply)")
            #expect(server.server.mountState("/sc")?.metadata.title == "Own Title")
            await server.stop()
        }

        @Test func shoutcastV1SourceOnTheNextPortWithExactReplyAndAdminCGITitles() async throws {
            let server = try await shoutcastServer()
            // Wrong password: silent close.
            let wrong = try RawSocket(port: server.port + 1)
            try wrong.send("nope\r\n")
            #expect(wrong.receiveAll().isEmpty)

            let source = try RawSocket(port: server.port + 1)
            try source.send("\(TestServer.sourcePassword)\r\n")
            #expect(source.receive(exactly: 20) == Array("OK2\r\nicy-caps:11\r\n\r\n".utf8))
            // Headers and the first audio in one packet.
            try source.send(Array("icy-name:SC Name\nicy-genre:Ambient\nicy-pub:0\nicy-br:128\n\n".utf8) + Array(Fixture.mp3.prefix(30_000)))
            #expect(await server.waitUntil { server.isLive("/sc") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/sc", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("icy-name:SC Name"))
            let cgi = try await ExternalProcess.run(
                "curl", ["-s", "http://127.0.0.1:\(server.port)/admin.cgi?pass=\(TestServer.sourcePassword)&mode=updinfo&song=Via%20CGI"])
            #expect(String(decoding: cgi.stdout, as: UTF8.self).contains("<p>Metadata update successful</p>"))
            let refused = try await ExternalProcess.run(
                "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/admin.cgi?pass=bad&mode=updinfo&song=x"])
            #expect(String(decoding: refused.stdout, as: UTF8.self) == "401")
            try await sendPaced(source, Array(Fixture.mp3[30_000...]))
            source.shutdownWrite()
            let stream = ICYStream(rest + listener.receiveAll(), interval: 16_000)
            #expect(stream.isWellFormed)
            #expect(stream.blocks.contains("Via CGI"))
            #expect(Fixture.frameAlignedOffset(of: Array(stream.audio.prefix(4096))) == 0)
            await server.stop()
        }

        /// The SHOUTcast port admits connections as the HTTP port does (found by a probe): `max-pending-per-ip`
        /// idle connections at most from one address, and none from a banned one.
        @Test func theShoutcastPortKeepsTheAdmissionRules() async throws {
            let server = try await shoutcastServer { $0.limits.maxPendingPerIP = 2 }
            let idle = try (0..<2).map { _ in try RawSocket(port: server.port + 1) }
            #expect(await server.waitUntil { server.server.connectionCount >= 2 }, "both idle connections accepted")
            let third = try RawSocket(port: server.port + 1)
            try? third.send("\(TestServer.sourcePassword)\r\n")
            #expect(third.receiveAll().isEmpty, "a third connection still sending its login is refused")
            idle[0].shutdownWrite()
            #expect(idle[0].receiveAll().isEmpty)
            // One slot free again: a source logs in.
            #expect(try await eventually {
                let source = try RawSocket(port: server.port + 1)
                try source.send("\(TestServer.sourcePassword)\r\n")
                return source.receive(exactly: 20) == Array("OK2\r\nicy-caps:11\r\n\r\n".utf8)
            })
            _ = idle
            await server.stop()

            let directory = try TemporaryDirectory()
            try "127.0.0.1\n".write(toFile: directory.path("banned"), atomically: true, encoding: .utf8)
            let banned = try await shoutcastServer { $0.paths.denyIPFile = directory.path("banned") }
            let source = try RawSocket(port: banned.port + 1)
            try? source.send("\(TestServer.sourcePassword)\r\n")
            #expect(source.receiveAll().isEmpty, "a banned address gets no OK2")
            await banned.stop()
        }

        @Test func libshoutInICYModeStreamsAndSetsTitles() async throws {
            let server = try await shoutcastServer()
            let port = server.port
            let source = try ShoutSource(port: port, mount: "/sc", password: TestServer.sourcePassword, name: "ICY Name", shoutcastProtocol: true)
            try await onThread { try source.open() }
            // libshout returns once it has written its header block; the server reads it asynchronously.
            #expect(await server.waitUntil { server.isLive("/sc") })
            let (listener, head, rest) = try rawListener(port: port, mount: "/sc", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("icy-name:ICY Name"))
            let half = Fixture.mp3.count / 2
            try await onThread {
                try source.send(Array(Fixture.mp3[..<half]))
                try source.setTitle("ICY Title")
                try source.send(Array(Fixture.mp3[half...]))
                source.close()
            }
            let stream = ICYStream(rest + listener.receiveAll(), interval: 16_000)
            #expect(sameBytes(stream.audio, Fixture.mp3))
            #expect(stream.blocks.contains("ICY Title"))
            await server.stop()
        }

        @Test func introPlaysBeforeTheLiveStreamAndListenersAreCutAtTheirTimeLimit() async throws {
            let webroot = try TemporaryDirectory()
            let intro = SineMP3.make(seconds: 1, frequency: 220)
            try Data(intro).write(to: URL(fileURLWithPath: webroot.path("intro.mp3")))
            let server = try await TestServer {
                $0.paths.webroot = webroot.url.path
                $0.mounts["/withintro"] = .init(maxListenerDuration: 1.5, intro: "intro.mp3")
            }
            let source = try rawSource(port: server.port, mount: "/withintro")
            let feeder = streamUntilCancelled(source)
            // The listener joins once the mount has published its first block of live audio.
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_frames_total{mount=\"/withintro\"}", default: 0] > 0 })
            let start = ContinuousClock.now
            let (listener, _, rest) = try rawListener(port: server.port, mount: "/withintro")
            let received = rest + listener.receiveAll()
            let elapsed = ContinuousClock.now - start
            #expect(Array(received.prefix(intro.count)) == intro, "the intro comes first, whole")
            #expect(frameCount(in: Array(received.dropFirst(intro.count)), from: Fixture.mp3) > 10, "then the live stream")
            #expect(elapsed >= .milliseconds(1400) && elapsed < .seconds(4), "closed at max-listener-duration: \(elapsed)")
            feeder.cancel()
            await server.stop()
        }

        @Test func dumpFileRecordsEachSourceAndScriptsRunWithTheMountName() async throws {
            let directory = try TemporaryDirectory()
            let script = directory.path("hook.sh")
            try "#!/bin/sh\necho \"$0 $1\" >> \(directory.path("hooks.log"))\n".write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
            let server = try await TestServer {
                $0.mounts["/rec"] = .init(
                    dumpFile: directory.path("rec-%Y%m%d-%H%M%S.mp3"),
                    onConnect: script,
                    onDisconnect: script
                )
            }
            let source = try rawSource(port: server.port, mount: "/rec")
            let garbage = Array("not audio".utf8)
            try source.send(garbage + Array(Fixture.mp3.prefix(50_000)))
            source.shutdownWrite()
            #expect(await server.waitUntil { !server.isLive("/rec") })
            #expect(await server.waitUntil {
                ((try? String(contentsOfFile: directory.path("hooks.log"), encoding: .utf8)) ?? "").split(separator: "\n").count == 2
            })
            let log = try String(contentsOfFile: directory.path("hooks.log"), encoding: .utf8)
            #expect(log.split(separator: "\n").allSatisfy { $0.hasSuffix(" /rec") })
            let dumps = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("rec-") }
            #expect(dumps.count == 1)
            let recorded = try Data(contentsOf: URL(fileURLWithPath: directory.path(dumps[0])))
            #expect(sameBytes(Array(recorded), garbage + Array(Fixture.mp3.prefix(50_000))), "every byte the source sent, garbage included")
            await server.stop()
        }
    
        @Test func webrootFilesAndAliasesAreServedAndNothingOutsideIt() async throws {
            let webroot = try TemporaryDirectory()
            try "<h1>Hello</h1>".write(toFile: webroot.path("index.html"), atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: webroot.path("css"), withIntermediateDirectories: true)
            try "body{}".write(toFile: webroot.path("css/site.css"), atomically: true, encoding: .utf8)
            let server = try await TestServer {
                $0.paths.webroot = webroot.url.path
                $0.paths.aliases = [.init(source: "/home", destination: "/index.html")]
            }
            func get(_ path: String) async throws -> String {
                let result = try await ExternalProcess.run(
                    "curl", ["-s", "--path-as-is", "-D", "-", "http://127.0.0.1:\(server.port)\(path)"])
                return String(decoding: result.stdout, as: UTF8.self)
            }
            let home = try await get("/home")
            #expect(home.hasPrefix("HTTP/1.0 200 OK") && home.contains("text/html") && home.hasSuffix("<h1>Hello</h1>"))
            #expect(try await get("/").hasSuffix("<h1>Hello</h1>"), "a directory serves its index.html")
            let css = try await get("/css/site.css")
            #expect(css.contains("Content-Type: text/css") && css.hasSuffix("body{}"))
            try "".write(toFile: webroot.path("empty.txt"), atomically: true, encoding: .utf8)
            let empty = try await get("/empty.txt")
            #expect(empty.hasPrefix("HTTP/1.0 200 OK") && empty.contains("Content-Length: 0\r\n") && empty.hasSuffix("\r\n\r\n"), "\(empty)")
            for path in ["/empty.txt/", "/css/site.css/"] {
                #expect(try await get(path).hasPrefix("HTTP/1.0 404"), "a file is no directory: \(path)")
            }
            #expect(try await get("/../../etc/passwd").hasPrefix("HTTP/1.0 404"))
            #expect(try await get("/css/%2e%2e/%2e%2e/etc/passwd").hasPrefix("HTTP/1.0 404"))

            // Only regular files: named pipes, more of them than the file threads, get 404 and stall nothing (they
            // held every thread opening them, waiting for a writer; found by a probe).
            #expect(mkfifo(webroot.path("stuck.mp3"), 0o644) == 0)
            let stuck = (0..<4).map { _ in
                Task {
                    try await ExternalProcess.run(
                        "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", "http://127.0.0.1:\(server.port)/stuck.mp3"])
                }
            }
            for request in stuck {
                #expect(String(decoding: try await request.value.stdout, as: UTF8.self) == "404")
            }
            let after = try await ExternalProcess.run("curl", ["-s", "--max-time", "3", "http://127.0.0.1:\(server.port)/css/site.css"])
            #expect(String(decoding: after.stdout, as: UTF8.self) == "body{}", "static files still served")
            // Whatever still waits on the pipe gets a writer, so the server can stop.
            let writer = open(webroot.path("stuck.mp3"), O_RDWR | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            await server.stop()

            let closed = try await TestServer {
                $0.paths.webroot = webroot.url.path
                $0.fileserve = false
            }
            let result = try await ExternalProcess.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(closed.port)/index.html"])
            #expect(String(decoding: result.stdout, as: UTF8.self) == "404")
            await closed.stop()
        }

        /// A file of any size streams in chunks, each read once the client took the last (the server never holds
        /// the file): 64 MiB arrive intact at a limited rate while a listener keeps streaming, and the server's
        /// memory grows by far less than the file.
        @Test func aLargeWebrootFileStreamsIntactWithoutBeingHeldInMemory() async throws {
            let webroot = try TemporaryDirectory()
            let size = 64 << 20
            var pattern = [UInt8](repeating: 0, count: size)
            for index in stride(from: 0, to: size, by: 4) {
                let word = UInt32(truncatingIfNeeded: index / 4)
                pattern[index] = UInt8(truncatingIfNeeded: word)
                pattern[index + 1] = UInt8(truncatingIfNeeded: word >> 8)
                pattern[index + 2] = UInt8(truncatingIfNeeded: word >> 16)
                pattern[index + 3] = 0x5A
            }
            try Data(pattern).write(to: URL(fileURLWithPath: webroot.path("big.bin")))
            let server = try await TestServer { $0.paths.webroot = webroot.url.path }
            let source = try rawSource(port: server.port, mount: "/live")
            let feeder = streamUntilCancelled(source)
            let (listener, _, rest) = try rawListener(port: server.port, mount: "/live")
            let received = listener.receiveAllInBackground(prefix: rest, limit: 1 << 30)

            let head = try await ExternalProcess.run("curl", ["-s", "-I", "http://127.0.0.1:\(server.port)/big.bin"])
            #expect(String(decoding: head.stdout, as: UTF8.self).contains("Content-Length: \(size)"))
            let before = Self.residentKilobytes()
            let download = webroot.path("download.bin")
            let fetched = try await ExternalProcess.run(
                "curl", ["-s", "--limit-rate", "24M", "-o", download, "http://127.0.0.1:\(server.port)/big.bin"], timeout: 60)
            #expect(fetched.status == 0)
            let growth = Self.residentKilobytes() - before
            #expect(FileManager.default.contents(atPath: download) == Data(pattern), "every byte, in order")
            #expect(growth < 24 << 10, "the server held about \(growth) KB more, not the 64 MiB file")

            feeder.cancel()
            listener.shutdownWrite()
            #expect(await received.value.count > 16_000, "the listener kept streaming meanwhile")
            await server.stop()
        }

        /// This process's resident memory (the test server runs in it).
        static func residentKilobytes() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
    }
}
