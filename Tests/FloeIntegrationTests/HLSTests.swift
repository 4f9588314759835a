import FloeCore
import FloeServer
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// HLS from a live mount, checked with ffmpeg's demuxer and decoder against what an HTTP listener got.
    @Suite("HLS", .serialized)
    struct HLSTests {
        /// One GET (or HEAD) over a fresh connection, closed after the answer: the response head and body.
        static func get(_ port: Int, _ path: String, method: String = "GET", headers: [String] = []) throws -> (head: String, body: [UInt8]) {
            let socket = try RawSocket(port: port)
            try socket.send(requestHead("\(method) \(path) HTTP/1.1", ["Host: 127.0.0.1", "Connection: close"] + headers))
            let (head, rest) = try socket.receiveHead()
            return (head, rest + socket.receiveAll())
        }

        static func status(_ head: String) -> Int {
            Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        }

        /// The segment URIs of a playlist, in order, and the preload hint's URI.
        static func uris(_ playlist: String) -> (segments: [String], hint: String?) {
            let lines = playlist.split(separator: "\n").map(String.init)
            let segments = lines.filter { !$0.hasPrefix("#") && !$0.isEmpty }
            let hint = lines.first { $0.hasPrefix("#EXT-X-PRELOAD-HINT:") }.flatMap { line in
                line.split(separator: "\"").dropFirst().first.map(String.init)
            }
            return (segments, hint)
        }

        /// The playlist once it lists at least `count` segments.
        static func playlist(_ port: Int, mount: String = "/live", atLeast count: Int) async throws -> String {
            var text = ""
            let listed = try await eventually(timeout: 30) {
                let (head, body) = try await onThread { try get(port, mount + ".m3u8") }
                text = String(decoding: body, as: UTF8.self)
                return status(head) == 200 && uris(text).segments.count >= count
            }
            try #require(listed, "the playlist never listed \(count) segments: \(text)")
            return text
        }

        /// Runs ffmpeg on `arguments` and returns its standard output.
        static func ffmpeg(_ arguments: [String], timeout: Double = 60) async throws -> Data {
            let result = try await ExternalProcess.run("ffmpeg", ["-nostdin", "-v", "error"] + arguments, timeout: timeout)
            try #require(result.status == 0, "ffmpeg failed: \(result.stderr)")
            return result.stdout
        }

        /// A server with the tone streaming on `/live` in real time and an HTTP listener recording what it hears
        /// (until the source's connection is shut).
        static func liveMountWithListener() async throws -> (server: TestServer, source: RawSocket, streaming: Task<Void, Error>, heard: Task<[UInt8], Never>) {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/live")
            let streaming = streamUntilCancelled(source)
            let (listener, _, first) = try rawListener(port: server.port, mount: "/live")
            return (server, source, streaming, listener.receiveAllInBackground(prefix: first))
        }

        @Test func segmentsCarryAContiguousRunOfTheListenersFramesAndTheTitleFollows() async throws {
            let (server, source, streaming, heard) = try await Self.liveMountWithListener()
            let directory = try TemporaryDirectory()

            let playlist = try await Self.playlist(server.port, atLeast: 3)
            #expect(playlist.hasPrefix("#EXTM3U\n"))
            #expect(!playlist.contains("#EXT-X-ENDLIST"))
            let (head, _) = try Self.get(server.port, "/live.m3u8", method: "HEAD")
            #expect(head.contains("Content-Type: application/vnd.apple.mpegurl"))
            #expect(head.contains("Cache-Control: public, max-age=0"))
            #expect(head.contains("Access-Control-Allow-Origin: *"))

            // The window's segments, fetched in order and joined: ffmpeg's demuxer finds the MP3 stream in them.
            var joined: [UInt8] = []
            for uri in Self.uris(playlist).segments {
                let (segmentHead, body) = try Self.get(server.port, "/" + uri)
                #expect(Self.status(segmentHead) == 200)
                #expect(segmentHead.contains("Content-Type: video/mp2t"))
                #expect(segmentHead.contains("Cache-Control: public, max-age=86400, immutable"))
                let etag = try #require(segmentHead.split(separator: "\r\n").first { $0.hasPrefix("ETag: ") }?.dropFirst(6))
                let (again, empty) = try Self.get(server.port, "/" + uri, headers: ["If-None-Match: \(etag)"])
                #expect(Self.status(again) == 304 && empty.isEmpty)
                #expect(body.count % 188 == 0 && body.first == 0x47)
                joined += body
            }
            try Data(joined).write(to: URL(fileURLWithPath: directory.path("window.ts")))
            let audio = [UInt8](try await Self.ffmpeg(["-i", directory.path("window.ts"), "-map", "0:a", "-c", "copy", "-f", "mp3", "-"]))
            #expect(audio.count > 3 * 30_000, "three segments of 128 kb/s audio")

            // A title set now is in the stream within two segments, as timed ID3.
            let before = Self.uris(try await Self.playlist(server.port, atLeast: 3)).segments.last!
            let title = "Floe Testers - HLS \(UInt32.random(in: 0...999_999))"
            let updated = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/live&mode=updinfo&song=\(title.replacingOccurrences(of: " ", with: "%20"))"])
            #expect(updated.status == 0)
            let sequence = { (uri: String) in Int(uri.split(separator: "-").last!.dropLast(3))! }
            var found: Int?
            _ = try await eventually(timeout: 20) {
                for uri in Self.uris(try await Self.playlist(server.port, atLeast: 3)).segments where sequence(uri) > sequence(before) {
                    let (_, body) = try Self.get(server.port, "/" + uri)
                    let file = directory.path("s\(sequence(uri)).ts")
                    try Data(body).write(to: URL(fileURLWithPath: file))
                    let tags = try await Self.ffmpeg(["-i", file, "-map", "0:d", "-c", "copy", "-f", "data", "-"])
                    if String(decoding: tags, as: UTF8.self).contains(title) { found = sequence(uri); return true }
                }
                return false
            }
            let reached = try #require(found, "the title never reached the HLS stream")
            #expect(reached <= sequence(before) + 2)

            // Counted in /metrics and status.
            let metrics = try await prometheusMetrics(port: server.port)
            #expect((metrics["floe_hls_requests_total{kind=\"segment\",mount=\"/live\"}"] ?? metrics["floe_hls_requests_total{mount=\"/live\",kind=\"segment\"}"] ?? 0) >= 3, "\(metrics.keys.filter { $0.contains("hls") })")
            #expect(metrics["floe_hls_listeners{mount=\"/live\"}"] == 1)
            let status = String(decoding: try Self.get(server.port, "/status-json.xsl").body, as: UTF8.self)
            #expect(status.contains("\"floe_hls_listeners\":1") && status.contains("/live.m3u8"))

            streaming.cancel()
            source.shutdownWrite()
            let bytes = await heard.value
            // The demuxed audio is one unbroken run of the frames the HTTP listener received.
            let frames = MPEGFrameSynchronizer.frames(in: audio)
            #expect(frames.count > 200)
            let run = Array(audio[frames[0].offset...])
            #expect(Self.contains(bytes, run), "the HLS audio is not a contiguous run of the listener's bytes")
            await server.stop()
        }

        @Test func ffmpegPlaysThePlaylistSampleForSampleLikeTheHTTPListener() async throws {
            let (server, source, streaming, heard) = try await Self.liveMountWithListener()
            _ = try await Self.playlist(server.port, atLeast: 3)
            // ffmpeg plays the live playlist (from three segments before the live edge) for 6 s.
            let played = try await Self.ffmpeg(
                ["-i", "http://127.0.0.1:\(server.port)/live.m3u8", "-t", "6", "-map", "0:a", "-f", "s16le", "-ac", "1", "-"],
                timeout: 60
            )
            streaming.cancel()
            source.shutdownWrite()
            let directory = try TemporaryDirectory()
            try Data(await heard.value).write(to: URL(fileURLWithPath: directory.path("http.mp3")))
            let reference = try await Self.ffmpeg(["-i", directory.path("http.mp3"), "-f", "s16le", "-ac", "1", "-"])
            let hls = Self.samples(played)
            let http = Self.samples(reference)
            #expect(hls.count >= 6 * 44_100 - 1152, "6 s decoded")
            // Past the first frames (whose bit reservoir the HLS decode starts without), every sample equals the
            // HTTP listener's decode at one offset: the segments join without a gap, repeat or click.
            let skip = 4 * 1152
            let compared = Array(hls[skip...])
            let probe = Array(compared.prefix(256))
            let offsets = (0...(http.count - compared.count)).filter { http[$0] == probe[0] && Array(http[$0..<($0 + 256)]) == probe }
            #expect(offsets.contains { Array(http[$0..<($0 + compared.count)]) == compared }, "no sample-exact match among \(offsets.count) candidates")
            await server.stop()
        }

        static func samples(_ data: Data) -> [Int16] {
            data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        }

        @Test func blockingReloadsWaitForTheirPartAndBadRequestsGetClearAnswers() async throws {
            let server = try await TestServer { configuration in
                var mount = MountConfiguration()
                mount.hls = HLSConfiguration(segmentDuration: .seconds(1), partDuration: .milliseconds(250))
                configuration.mounts["/live"] = mount
                // The thousand reloads below come from one address (in real life: many players, or a cache).
                configuration.limits.maxPendingPerIP = 2_000
            }
            let source = try rawSource(port: server.port, mount: "/live")
            let streaming = streamUntilCancelled(source)
            let playlist = try await Self.playlist(server.port, atLeast: 3)
            #expect(playlist.contains("#EXT-X-PART-INF:PART-TARGET=0.250"))
            let hint = try #require(Self.uris(playlist).hint)
            // live.hls/<id>-<msn>.<part>.ts
            let name = hint.split(separator: "/").last!.dropLast(3)
            let id = String(name.split(separator: "-")[0])
            let numbers = name.split(separator: "-")[1].split(separator: ".").map { Int($0)! }
            let (msn, part) = (numbers[0], numbers[1])

            // A reload blocked on the hinted part returns once it exists, with it listed.
            let started = ContinuousClock.now
            let (head, body) = try await onThread { try Self.get(server.port, "/live.m3u8?_HLS_msn=\(msn)&_HLS_part=\(part)") }
            #expect(Self.status(head) == 200)
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(String(decoding: body, as: UTF8.self).contains("URI=\"\(hint)\""))
            #expect(head.contains("Cache-Control: public, max-age="))
            // The part itself, and the next hinted part, which waits until it is there.
            let (partHead, partBody) = try Self.get(server.port, "/" + hint)
            #expect(Self.status(partHead) == 200 && partBody.first == 0x47)
            let nextHint = try #require(Self.uris(String(decoding: body, as: UTF8.self)).hint)
            let (nextHead, nextBody) = try await onThread { try Self.get(server.port, "/" + nextHint) }
            #expect(Self.status(nextHead) == 200 && nextBody.count % 188 == 0 && !nextBody.isEmpty)

            // Bad input: clear status codes at once.
            for (path, expected) in [
                ("/live.m3u8?_HLS_msn=\(msn + 50)", 400), ("/live.m3u8?_HLS_msn=-1", 400), ("/live.m3u8?_HLS_msn=x", 400),
                ("/live.m3u8?_HLS_part=1", 400), ("/live.hls/\(id)-999999.ts", 404), ("/live.hls/zz9-\(msn).ts", 404),
                ("/live.hls/\(id)-\(msn).99.ts", 404), ("/live.hls/../../../etc/passwd", 404), ("/live.hls/%2e%2e/x.ts", 404),
                ("/nothing.m3u8", 404),
            ] {
                let (badHead, _) = try Self.get(server.port, path)
                #expect(Self.status(badHead) == expected, "\(path)")
            }

            // A thousand blocking reloads at once for the next segment: each answered once it exists.
            let next = msn + 2
            let sockets = try (0..<1000).map { _ in try RawSocket(port: server.port) }
            let sent = ContinuousClock.now
            for socket in sockets { try socket.send(requestHead("GET /live.m3u8?_HLS_msn=\(next) HTTP/1.1", ["Host: x"])) }
            let answers = try await onThread { try sockets.map { try $0.receiveHead().head } }
            #expect(answers.allSatisfy { Self.status($0) == 200 }, "\(Set(answers.map { Self.status($0) }))")
            // Segment msn + 2 exists within two segment durations (4 s); the blocking deadline is 6 s.
            #expect(ContinuousClock.now - sent < .seconds(5))

            // Without a source, a reload blocked on a segment that never comes ends at the deadline with 503.
            streaming.cancel()
            source.shutdownWrite()
            #expect(await server.waitUntil { !server.isLive("/live") })
            let last = Self.uris(try await Self.playlist(server.port, atLeast: 3)).segments.last!
            let lastSequence = Int(last.split(separator: "-").last!.dropLast(3))!
            let waited = ContinuousClock.now
            let (timedOut, _) = try await onThread { try Self.get(server.port, "/live.m3u8?_HLS_msn=\(lastSequence + 1)") }
            #expect(Self.status(timedOut) == 503)
            let elapsed = ContinuousClock.now - waited
            #expect(elapsed >= .milliseconds(2_900) && elapsed < .seconds(5), "waited \(elapsed) for a 3 s deadline")
            await server.stop()
        }

        static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
            guard needle.count >= 64, haystack.count >= needle.count else { return false }
            let probe = Array(needle.prefix(64))
            var start = 0
            while start + needle.count <= haystack.count {
                guard let index = (start...(haystack.count - needle.count)).first(where: { haystack[$0] == probe[0] && Array(haystack[$0..<($0 + 64)]) == probe }) else { return false }
                if Array(haystack[index..<(index + needle.count)]) == needle { return true }
                start = index + 1
            }
            return false
        }
    }
}

extension IntegrationTests.HLSTests {
    /// Upward swings through zero per second, from below -1000 to above 1000 (so that the near-silence at the
    /// joins of the looped test file counts for nothing): the frequency of a pure tone.
    static func toneFrequency(_ samples: [Int16], sampleRate: Double = 44_100) -> Double {
        var crossings = 0
        var low = false
        for sample in samples {
            if sample < -1000 { low = true } else if sample > 1000, low { crossings += 1; low = false }
        }
        return Double(crossings) / (Double(samples.count) / sampleRate)
    }

    /// Any audio file ffmpeg reads, as 44.1 kHz mono samples.
    static func decodedSamples(_ file: String) async throws -> [Int16] {
        samples(try await ffmpeg(["-i", file, "-f", "s16le", "-ac", "1", "-ar", "44100", "-"]))
    }

    @Test func gstreamerMpvAndVLCPlayThePlaylist() async throws {
        let server = try await TestServer()
        let source = try rawSource(port: server.port, mount: "/live")
        let streaming = streamUntilCancelled(source)
        _ = try await Self.playlist(server.port, atLeast: 3)
        let url = "http://127.0.0.1:\(server.port)/live.m3u8"
        // VLC refuses to run as root: it runs as nobody, writing to a directory nobody may write.
        let directory = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.url.path)
        // Raw samples, so that stopping it needs no end-of-stream handshake.
        let gstreamer = try ExternalProcess(
            "gst-launch-1.0",
            ["-q", "souphttpsrc", "location=\(url)", "!", "hlsdemux", "!", "tsdemux", "!", "mpegaudioparse", "!",
             "decodebin", "!", "audioconvert", "!", "audioresample", "!", "audio/x-raw,format=S16LE,channels=1,rate=44100", "!",
             "filesink", "location=\(directory.path("gst.raw"))"],
            unblockingSignals: true
        )
        let mpv = try ExternalProcess(
            "mpv", ["--no-config", "--really-quiet", "--no-video", "--ao=pcm", "--ao-pcm-file=\(directory.path("mpv.wav"))", "--length=6", url]
        )
        let vlc = try ExternalProcess(
            "runuser",
            ["-u", "nobody", "--", "env", "HOME=\(directory.url.path)", "cvlc", "--play-and-exit", "--run-time=9",
             "--sout", "#transcode{acodec=s16l,channels=1,samplerate=44100}:std{access=file,mux=wav,dst=\(directory.path("vlc.wav"))}",
             url, "vlc://quit"]
        )
        try await Task.sleep(for: .seconds(9))
        gstreamer.terminate()
        let gstreamerResult = await gstreamer.finish(timeout: 20)
        #expect(gstreamerResult.status == SIGTERM, "GStreamer: \(gstreamerResult.stderr)")
        let gstreamerSamples = Self.samples(try Data(contentsOf: URL(fileURLWithPath: directory.path("gst.raw"))))
        var results = [("GStreamer", gstreamerSamples)]
        for (player, process, file) in [
            ("mpv", mpv, "mpv.wav"),
            ("VLC", vlc, "vlc.wav"),
        ] {
            let result = await process.finish(timeout: 30)
            #expect(result.status == 0, "\(player): \(result.stderr)")
            results.append((player, try await Self.decodedSamples(directory.path(file))))
        }
        for (player, samples) in results {
            // At least 5.5 s of the source's 440 Hz tone (VLC's run time includes its start-up).
            #expect(samples.count > 44_100 * 11 / 2, "\(player) decoded \(samples.count) samples")
            let frequency = Self.toneFrequency(samples)
            #expect(abs(frequency - 440) < 10, "\(player) heard \(frequency) Hz")
        }
        streaming.cancel()
        await server.stop()
    }
}

extension IntegrationTests.HLSTests {
    @Test func chromiumPlaysHLSInTheStatusPagesAudioElement() async throws {
        let server = try await TestServer { $0.paths.webroot = IntegrationTests.WebPageTests.webroot }
        let source = try rawSource(port: server.port, mount: "/live", headers: ["ice-name: HLS Radio"])
        let streaming = streamUntilCancelled(source)
        _ = try await Self.playlist(server.port, atLeast: 3)
        let browser = try await HeadlessChromium(
            url: "http://127.0.0.1:\(server.port)/",
            arguments: ["--autoplay-policy=no-user-gesture-required", "--mute-audio"]
        )
        #expect(try await browser.evaluate("document.createElement('audio').canPlayType('application/vnd.apple.mpegurl')") != "")
        // The page offers HLS, since this browser plays it, in its audio element and as a link.
        let audio = "document.querySelector('article.mount audio')"
        #expect(try await browser.wait(for: "\(audio)?.getAttribute('src') ?? ''", toBe: "/live.m3u8") == "/live.m3u8")
        #expect(try await browser.evaluate("document.querySelector('article.mount .hls-link').hidden ? 'hidden' : 'shown'") == "shown")
        let played = try await browser.evaluate("\(audio).play().then(() => 'playing', error => String(error))")
        #expect(played == "playing")
        // Six seconds of media played, with no error.
        let progress = "String(\(audio).currentTime >= 6 && \(audio).error === null)"
        let done = try await browser.wait(for: progress, toBe: "true", timeout: 25)
        let state = try await browser.evaluate("`currentTime ${\(audio).currentTime}, error ${\(audio).error?.message}`")
        #expect(done == "true", "\(state)")
        let metrics = try await prometheusMetrics(port: server.port)
        #expect(metrics.contains { $0.key.hasPrefix("floe_hls_requests_total") && $0.key.contains("segment") && $0.value >= 3 })
        // The browser itself counts as an HLS listener, shown beside the stream's listeners.
        let hlsListeners = "document.querySelector('article.mount .hls-listeners')?.textContent ?? ''"
        #expect(try await browser.wait(for: hlsListeners, toBe: "1") == "1")
        streaming.cancel()
        await server.stop()
    }
}

extension IntegrationTests.HLSTests {
    /// The repository's nginx configuration for an HLS cache, as shipped.
    static let shippedNginxConfiguration = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/nginx/floe-hls.conf").path

    @Test func twoHundredPlayersThroughTheShippedNginxCostFloeOneRequestPerSegment() async throws {
        let directory = try TemporaryDirectory()
        let accessLogPath = directory.path("access.log")
        let server = try await TestServer(accessLog: AccessLog(file: try LogFile(.file(accessLogPath)))) {
            $0.trustedProxies = AddressList([AddressPattern("127.0.0.1")!])
        }
        let nginx = try await NginxServer(configurationFile: Self.shippedNginxConfiguration, upstreamPort: server.port)
        let source = try rawSource(port: server.port, mount: "/live")
        let streaming = streamUntilCancelled(source)
        _ = try await Self.playlist(server.port, atLeast: 3)
        // Requests logged so far were the test's own, waiting for the playlist.
        #expect(await eventually { ((try? String(contentsOfFile: accessLogPath, encoding: .utf8)) ?? "").contains("GET /live.m3u8") })
        let before = try String(contentsOfFile: accessLogPath, encoding: .utf8).split(separator: "\n").count

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/hls_clients.py").path
        let run = try await ExternalProcess.run("python3", [script, "127.0.0.1", "\(nginx.port)", "/live.m3u8", "200", "8"], timeout: 60)
        let parsed = try? JSONSerialization.jsonObject(with: run.stdout) as? [String: Any]
        let report = try #require(parsed, "\(run.stderr)")
        #expect(report["failures"] as? Int == 0, "\(report)")
        // Every player fetched its three segments and the ones after: at least 200 × 5.
        #expect((report["segments"] as? Int ?? 0) >= 1_000, "\(report)")

        streaming.cancel()
        await server.stop()
        // Floe's access log: each segment was asked for once, by nginx, however many players wanted it.
        let log = try String(contentsOfFile: accessLogPath, encoding: .utf8).split(separator: "\n").dropFirst(before)
        var perSegment: [String: Int] = [:]
        for line in log {
            guard let request = line.split(separator: "\"").dropFirst().first, request.hasPrefix("GET /live.hls/") else { continue }
            perSegment[String(request.split(separator: " ")[1]), default: 0] += 1
        }
        #expect(perSegment.count >= 5, "\(perSegment)")
        #expect(perSegment.values.allSatisfy { $0 == 1 }, "\(perSegment.filter { $0.value > 1 })")
        let playlists = log.filter { $0.contains("GET /live.m3u8") }.count
        // Plain reloads are cached for a second: about one a second reaches Floe in 8 s of players, not 200
        // players' worth (each reloads every second).
        #expect(playlists <= 20, "\(playlists) playlist requests reached Floe")
        _ = nginx
    }
}

extension IntegrationTests.HLSTests {
    @Test func aMountWithoutASourcePlaysItsFallbackAndItsOwnSourceFollowsAfterADiscontinuity() async throws {
        let server = try await TestServer { configuration in
            configuration.mounts["/live"] = MountConfiguration(fallbackMount: "/backup")
            configuration.mounts["/backup"] = MountConfiguration()
        }
        let backup = try rawSource(port: server.port, mount: "/backup")
        let backupStreaming = streamUntilCancelled(backup, Fixture.otherMP3)
        _ = try await Self.playlist(server.port, mount: "/backup", atLeast: 1)
        // /live has never had a source: its HLS follows the fallback, as its listeners would.
        let fallbackPlaylist = try await Self.playlist(server.port, mount: "/live", atLeast: 2)
        let fallbackSegment = try Self.get(server.port, "/" + Self.uris(fallbackPlaylist).segments.last!).body
        let directory = try TemporaryDirectory()
        try Data(fallbackSegment).write(to: URL(fileURLWithPath: directory.path("fallback.ts")))
        let fallbackAudio = [UInt8](try await Self.ffmpeg(["-i", directory.path("fallback.ts"), "-map", "0:a", "-c", "copy", "-f", "mp3", "-"]))
        #expect(frameCount(in: fallbackAudio, from: Fixture.otherMP3) > 50, "the fallback's tone")

        // Its own source arrives: the stream comes home, after a discontinuity, and the sequence runs on.
        let source = try rawSource(port: server.port, mount: "/live")
        let streaming = streamUntilCancelled(source)
        var playlist = ""
        let home = try await eventually(timeout: 20) {
            playlist = try await Self.playlist(server.port, mount: "/live", atLeast: 1)
            return playlist.contains("#EXT-X-DISCONTINUITY\n") && !playlist.hasSuffix("#EXT-X-DISCONTINUITY\n")
                && Self.uris(playlist).segments.count >= 2
                && playlist.components(separatedBy: "#EXT-X-DISCONTINUITY\n").last!.contains("#EXTINF")
        }
        #expect(home, "\(playlist)")
        let after = playlist.components(separatedBy: "#EXT-X-DISCONTINUITY\n").last!
        let ownSegment = try Self.get(server.port, "/" + Self.uris(after).segments.first!).body
        try Data(ownSegment).write(to: URL(fileURLWithPath: directory.path("own.ts")))
        let ownAudio = [UInt8](try await Self.ffmpeg(["-i", directory.path("own.ts"), "-map", "0:a", "-c", "copy", "-f", "mp3", "-"]))
        #expect(frameCount(in: ownAudio, from: Fixture.mp3) > 50, "the mount's own tone")
        #expect(frameCount(in: ownAudio, from: Fixture.otherMP3) == 0)
        let sequences = Self.uris(playlist).segments.map { Int($0.split(separator: "-").last!.dropLast(3))! }
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 + 1 }, "\(sequences)")
        streaming.cancel()
        backupStreaming.cancel()
        await server.stop()
    }
}

extension IntegrationTests.HLSTests {
    /// Reads responses with a `Content-Length` from `socket`, `count` of them, in order.
    static func responses(_ socket: RawSocket, count: Int) throws -> [(head: String, body: [UInt8])] {
        var buffered: [UInt8] = []
        var answers: [(head: String, body: [UInt8])] = []
        while answers.count < count {
            while !buffered.isEmpty || answers.count < count {
                if let end = (0..<max(0, buffered.count - 3)).first(where: { buffered[$0..<($0 + 4)] == [13, 10, 13, 10] }) {
                    let head = String(decoding: buffered[..<end], as: UTF8.self)
                    let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if buffered.count >= end + 4 + length {
                        answers.append((head, Array(buffered[(end + 4)..<(end + 4 + length)])))
                        buffered.removeFirst(end + 4 + length)
                        if answers.count == count { break }
                        continue
                    }
                }
                let more = try socket.receive()
                guard !more.isEmpty else { throw RawSocket.Failure(description: "closed after \(answers.count) answers") }
                buffered += more
            }
        }
        return answers
    }

    @Test func aPlayerKeepsItsConnectionForPlaylistAndSegmentsAndPipelinedRequestsAreAnsweredInOrder() async throws {
        let server = try await TestServer()
        let source = try rawSource(port: server.port, mount: "/live")
        let streaming = streamUntilCancelled(source)
        let playlist = try await Self.playlist(server.port, atLeast: 3)
        let segments = Self.uris(playlist).segments
        let socket = try RawSocket(port: server.port)
        // One request after another on one connection.
        try socket.send(requestHead("GET /live.m3u8 HTTP/1.1", ["Host: x"]))
        let first = try Self.responses(socket, count: 1)[0]
        #expect(first.head.hasPrefix("HTTP/1.1 200") && first.head.contains("Connection: Keep-Alive"))
        #expect(String(decoding: first.body, as: UTF8.self).hasPrefix("#EXTM3U"))
        try socket.send(requestHead("GET /\(segments[0]) HTTP/1.1", ["Host: x"]))
        let second = try Self.responses(socket, count: 1)[0]
        #expect(second.head.hasPrefix("HTTP/1.1 200") && second.body.first == 0x47 && second.body.count % 188 == 0, "\(second.head)")
        // Three requests in one write: three answers, in order, on the same connection.
        try socket.send(segments.prefix(3).map { requestHead("GET /\($0) HTTP/1.1", ["Host: x"]) }.joined())
        let pipelined = try Self.responses(socket, count: 3)
        for (answer, uri) in zip(pipelined, segments.prefix(3)) {
            #expect(answer.head.hasPrefix("HTTP/1.1 200"))
            #expect(answer.head.contains("ETag: \"\(uri.split(separator: "/").last!.dropLast(3))\""))
        }
        #expect(pipelined[0].body == second.body)
        // A revalidation (304) keeps the connection too, with no length (found by a probe: it closed).
        let etag = "\"\(segments[0].split(separator: "/").last!.dropLast(3))\""
        try socket.send(
            requestHead("GET /\(segments[0]) HTTP/1.1", ["Host: x", "If-None-Match: \(etag)"])
                + requestHead("GET /\(segments[0]) HTTP/1.1", ["Host: x"])
        )
        let revalidated = try Self.responses(socket, count: 2)
        #expect(revalidated[0].head.hasPrefix("HTTP/1.1 304") && !revalidated[0].head.contains("Content-Length"), "\(revalidated[0].head)")
        #expect(revalidated[1].head.hasPrefix("HTTP/1.1 200") && revalidated[1].body == second.body)
        // Many players behind one address (a NAT) each keep a connection between requests: more of them than
        // `max-pending-per-ip` (64), which is for connections that have not sent a request yet.
        let players = try (0..<80).map { _ in
            let player = try RawSocket(port: server.port)
            try player.send(requestHead("GET /live.m3u8 HTTP/1.1", ["Host: x"]))
            #expect(try Self.responses(player, count: 1)[0].head.hasPrefix("HTTP/1.1 200"))
            return player
        }
        for player in players {
            try player.send(requestHead("GET /\(segments[1]) HTTP/1.1", ["Host: x"]))
            #expect(try Self.responses(player, count: 1)[0].head.hasPrefix("HTTP/1.1 200"))
        }
        // A request with a body is answered and the connection closed: the body, here itself a request, is
        // never read as the next one (found by a probe).
        let smuggled = requestHead("GET /admin/stats HTTP/1.1", ["Host: x"])
        let smuggler = try RawSocket(port: server.port)
        try smuggler.send(requestHead("GET /live.m3u8 HTTP/1.1", ["Host: x", "Content-Length: \(smuggled.utf8.count)"]) + smuggled)
        let answered = String(decoding: smuggler.receiveAll(), as: UTF8.self)
        #expect(answered.components(separatedBy: "HTTP/1.").count == 2, "one answer: \(answered.prefix(600))")
        #expect(answered.contains("Connection: Close"))
        // `Connection: close` is honoured.
        try socket.send(requestHead("GET /live.m3u8 HTTP/1.1", ["Host: x", "Connection: close"]))
        let last = try Self.responses(socket, count: 1)[0]
        #expect(last.head.contains("Connection: Close"))
        #expect(socket.isClosedByPeer(within: 3))
        streaming.cancel()
        await server.stop()
    }
}

extension IntegrationTests.HLSTests {
    @Test func packedAudioSegmentsAreTheListenersFramesAfterATimestampTagAndFFmpegPlaysThem() async throws {
        let server = try await TestServer { configuration in
            var mount = MountConfiguration()
            var hls = HLSConfiguration()
            hls.format = .packed
            mount.hls = hls
            configuration.mounts["/live"] = mount
        }
        let source = try rawSource(port: server.port, mount: "/live")
        let streaming = streamUntilCancelled(source)
        let (listener, _, first) = try rawListener(port: server.port, mount: "/live")
        let heard = listener.receiveAllInBackground(prefix: first)
        let playlist = try await Self.playlist(server.port, atLeast: 3)
        let uri = try #require(Self.uris(playlist).segments.last)
        #expect(uri.hasSuffix(".mp3"))
        let (head, segment) = try Self.get(server.port, "/" + uri)
        #expect(head.contains("Content-Type: audio/mpeg"))
        // An ID3 tag (the PRIV timestamp), then frames as the listener got them.
        #expect(Array(segment.prefix(3)) == Array("ID3".utf8))
        #expect(String(decoding: segment, as: UTF8.self).contains("com.apple.streaming.transportStreamTimestamp"))
        let tagLength = 10 + segment[6..<10].reduce(0) { $0 << 7 | Int($1) }
        let frames = Array(segment[tagLength...])
        #expect(MPEGFrameSynchronizer.frames(in: frames).count > 60)

        let played = try await Self.ffmpeg(
            ["-i", "http://127.0.0.1:\(server.port)/live.m3u8", "-t", "4", "-map", "0:a", "-f", "s16le", "-ac", "1", "-"]
        )
        #expect(Self.samples(played).count >= 4 * 44_100 - 1152)
        #expect(abs(Self.toneFrequency(Self.samples(played)) - 440) < 10)
        streaming.cancel()
        source.shutdownWrite()
        #expect(Self.contains(await heard.value, frames))
        await server.stop()
    }
}

extension IntegrationTests.HLSTests {
    /// A fallback with a listener login is never heard through HLS: not by a mount without a source whose HLS
    /// would follow it, nor by a mount whose source leaves (its listeners move there, as in Icecast; its HLS
    /// playlist and segments, which carry no login, do not). Found by a probe: `/open.m3u8` played `/secret`.
    @Test func hlsNeverCarriesTheAudioOfAFallbackWithAListenerLogin() async throws {
        let directory = try TemporaryDirectory()
        try (HTPasswd.line(user: "alice", password: "wonder") + "\n").write(
            toFile: directory.path("users"), atomically: true, encoding: .utf8)
        let server = try await TestServer { configuration in
            configuration.mounts["/secret"] = MountConfiguration(
                listenerAuthentication: .htpasswd(.init(filename: directory.path("users")))
            )
            configuration.mounts["/open"] = MountConfiguration(fallbackMount: "/secret")
            configuration.mounts["/leaving"] = MountConfiguration(fallbackMount: "/secret")
        }
        let secret = try rawSource(port: server.port, mount: "/secret")
        let secretStreaming = streamUntilCancelled(secret, Fixture.otherMP3)
        let leaving = try rawSource(port: server.port, mount: "/leaving")
        let leavingStreaming = streamUntilCancelled(leaving)
        _ = try await Self.playlist(server.port, mount: "/leaving", atLeast: 2)
        #expect(try Self.status(Self.get(server.port, "/secret.m3u8").head) == 403)

        // /open has no source of its own; its listeners would get 404 (the fallback wants a login), and so does HLS.
        let openPlaylist = try await eventually(timeout: 4) {
            try await onThread { Self.status(try Self.get(server.port, "/open.m3u8").head) } == 200
        }
        #expect(!openPlaylist, "/open.m3u8 served the audio of /secret")

        // /leaving's source goes: nothing its playlist lists from then on may be /secret's tone.
        leavingStreaming.cancel()
        leaving.shutdownWrite()
        try await Task.sleep(for: .seconds(6))
        let (head, body) = try Self.get(server.port, "/leaving.m3u8")
        var heard: [UInt8] = []
        if Self.status(head) == 200 {
            for segment in Self.uris(String(decoding: body, as: UTF8.self)).segments {
                let (segmentHead, bytes) = try Self.get(server.port, "/" + segment)
                guard Self.status(segmentHead) == 200 else { continue }
                let file = directory.path("segment.ts")
                try Data(bytes).write(to: URL(fileURLWithPath: file))
                heard += [UInt8](try await Self.ffmpeg(["-y", "-i", file, "-map", "0:a", "-c", "copy", "-f", "mp3", "-"]))
            }
        }
        #expect(frameCount(in: heard, from: Fixture.otherMP3) == 0, "/leaving's HLS followed /secret")
        secretStreaming.cancel()
        await server.stop()
    }
}
