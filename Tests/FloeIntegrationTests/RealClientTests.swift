import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// The clients people actually use: libshout and ffmpeg as sources; mpg123, ffmpeg and curl as listeners.
    @Suite("Real clients", .serialized)
    struct RealClientTests {
        /// Collects a listener's stream in the background until the server closes it.
        func collect(port: Int, mount: String, headers: [String] = []) throws -> Task<[UInt8], Never> {
            let (socket, head, rest) = try rawListener(port: port, mount: mount, headers: headers)
            precondition(head.hasPrefix("HTTP/1.0 200 OK"), head)
            return socket.receiveAllInBackground(prefix: rest)
        }

        /// Decodes MP3 bytes with mpg123 and returns its report; fails the test on decoder errors.
        func decodeWithMPG123(_ bytes: [UInt8], in directory: TemporaryDirectory) async throws -> String {
            let path = directory.path("decode-\(UUID().uuidString).mp3")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try await ExternalProcess.run("mpg123", ["-t", path])
            #expect(result.status == 0, "mpg123 failed: \(result.stderr)")
            #expect(!result.stderr.lowercased().contains("error"), "mpg123 reported errors: \(result.stderr)")
            return result.stderr
        }

        @Test func libshoutSourceWithTitleUpdateReachesListeners() async throws {
            let server = try await TestServer()
            let directory = try TemporaryDirectory()
            let port = server.port
            let source = try ShoutSource(port: port, mount: "/shout.mp3", password: TestServer.sourcePassword, name: "Shout Name", genre: "Ambient")
            // libshout blocks: it runs on a thread of its own. It probes (OPTIONS *, GET /admin/!POKE), is
            // challenged (401), then logs in.
            try await onThread { try source.open() }
            #expect(server.isLive("/shout.mp3"))
            let listener = try collect(port: port, mount: "/shout.mp3", headers: ["Icy-MetaData: 1"])
            #expect(await server.waitUntil { server.listeners("/shout.mp3") == 1 })
            let half = Fixture.mp3.count / 2
            try await onThread {
                try source.send(Array(Fixture.mp3[..<half]))
                try source.setTitle("Shouted Title")
                try source.send(Array(Fixture.mp3[half...]))
                source.close()
            }
            let stream = ICYStream(await listener.value, interval: 16_000)
            #expect(stream.isWellFormed)
            #expect(sameBytes(stream.audio, Fixture.mp3), "the listener heard exactly what libshout sent")
            #expect(stream.blocks.compactMap { $0 }.contains("Shouted Title"))
            _ = try await decodeWithMPG123(stream.audio, in: directory)
            await server.stop()
        }

        @Test(arguments: [false, true])
        func ffmpegSourceInPutAndLegacyModesDecodesAtTheListener(legacy: Bool) async throws {
            let server = try await TestServer()
            let directory = try TemporaryDirectory()
            let input = try Fixture.writeMP3(in: directory)
            let url = "icecast://source:\(TestServer.sourcePassword)@127.0.0.1:\(server.port)/ff.mp3"
            var arguments = ["-hide_banner", "-loglevel", "error", "-re", "-i", input, "-c", "copy", "-f", "mp3",
                             "-content_type", "audio/mpeg", "-ice_name", "FF Name", "-id3v2_version", "0", "-write_xing", "0"]
            if legacy { arguments += ["-legacy_icecast", "1"] }
            let ffmpeg = try ExternalProcess("ffmpeg", arguments + [url])
            #expect(await server.waitUntil { server.isLive("/ff.mp3") })
            // mpg123 as a real HTTP listener, decoding 100 frames (2.6 s) to a WAV file.
            let wav = directory.path("mpg123.wav")
            let mpg123 = try ExternalProcess("mpg123", ["-q", "-n", "100", "-w", wav, "http://127.0.0.1:\(server.port)/ff.mp3"])
            let listener = try collect(port: server.port, mount: "/ff.mp3")
            let mpg123Result = await mpg123.finish(timeout: 30)
            #expect(mpg123Result.status == 0, "mpg123: \(mpg123Result.stderr)")
            let wavSize = (try? FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int) ?? 0
            #expect(wavSize >= 100 * 1152 * 4, "mpg123 decoded 100 frames of stereo audio")

            let ffmpegResult = await ffmpeg.finish(timeout: 30)
            #expect(ffmpegResult.status == 0, "ffmpeg source: \(ffmpegResult.stderr)")
            let received = await listener.value
            #expect(received.count > 60_000)
            // ffmpeg re-muxes, so compare with what ffmpeg sent: the listener's bytes must decode cleanly and be
            // an excerpt of the tone's frames.
            #expect(Fixture.frameAlignedOffset(of: Array(received.prefix(8192))) != nil)
            _ = try await decodeWithMPG123(received, in: directory)
            await server.stop()
        }

        @Test func ffmpegAndCurlListenersDecodeAndSeeHeaders() async throws {
            let server = try await TestServer()
            let directory = try TemporaryDirectory()
            let source = try rawSource(port: server.port, mount: "/live", headers: ["ice-name: Curl Test", "ice-bitrate: 128"])
            try source.send(Array(Fixture.mp3.prefix(64 * 1024)))
            let feeder = streamUntilCancelled(source)
            // ffmpeg joins once the server has read those 64 KB, so it has a burst to probe.
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/live\"}", default: 0] >= 64 * 1024 })
            let wav = directory.path("ffmpeg.wav")
            let ffmpeg = try await ExternalProcess.run(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-i", "http://127.0.0.1:\(server.port)/live", "-t", "2", "-y", wav],
                timeout: 30
            )
            #expect(ffmpeg.status == 0, "ffmpeg listener: \(ffmpeg.stderr)")
            let probe = try await ExternalProcess.run(
                "ffprobe", ["-v", "error", "-show_entries", "stream=sample_rate,channels:format=duration", "-of", "default=nw=1", wav]
            )
            let report = String(decoding: probe.stdout, as: UTF8.self)
            #expect(report.contains("sample_rate=44100"))
            #expect(report.contains("channels=2"))

            let curl = try await ExternalProcess.run(
                "curl", ["-s", "-D", "-", "-o", "/dev/null", "--max-time", "1", "http://127.0.0.1:\(server.port)/live"], timeout: 10
            )
            let headers = String(decoding: curl.stdout, as: UTF8.self)
            #expect(headers.hasPrefix("HTTP/1.0 200 OK"))
            #expect(headers.contains("icy-name:Curl Test"))
            #expect(headers.contains("icy-br:128"))
            feeder.cancel()
            await server.stop()
        }

        @Test func curlUpdatesMetadataWithSourceCredentialsAndWrongOnesAreRefused() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/meta")
            try source.send(Array(Fixture.mp3.prefix(30_000)))
            let base = "http://127.0.0.1:\(server.port)/admin/metadata?mount=/meta&mode=updinfo"
            let ok = try await ExternalProcess.run("curl", ["-s", "-u", "source:\(TestServer.sourcePassword)", base + "&artist=A&title=B"])
            #expect(String(decoding: ok.stdout, as: UTF8.self).contains("<message>Metadata update successful</message><return>1</return>"))
            #expect(server.server.mountState("/meta")?.metadata.title == "A - B")
            let wrong = try await ExternalProcess.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "source:nope", base + "&song=x"])
            #expect(String(decoding: wrong.stdout, as: UTF8.self) == "401")
            let noSource = try await ExternalProcess.run(
                "curl", ["-s", "-w", " %{http_code}", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/none&mode=updinfo&song=x"])
            #expect(String(decoding: noSource.stdout, as: UTF8.self).hasSuffix("Source does not exist</b></body></html>\r\n 400"))
            let badMode = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/metadata?mount=/meta&mode=other"])
            #expect(String(decoding: badMode.stdout, as: UTF8.self).contains("<message>No such action</message><return>0</return>"))
            await server.stop()
        }
    }
}
