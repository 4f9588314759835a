import FloeCore
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// Mounts made from other mounts with libmpg123 and LAME.
    @Suite("Transcoded mounts", .serialized)
    struct TranscodeTests {
        static func stats(_ server: TestServer, _ mount: String) async throws -> [String: Any]? {
            let result = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/stats.json"]
            )
            let root = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
            return ((root?["icestats"] as? [String: Any])?["sources"] as? [[String: Any]])?.first { $0["mount"] as? String == mount }
        }

        /// A 128 kbit/s stereo source re-encoded at 64 kbit/s, 22.05 kHz mono: mpg123 decodes it, it measures
        /// 64 kbit/s, its tone is the source's, and the source's title reaches its ICY listeners.
        @Test func aTranscodedMountIsTheOriginsToneAtItsOwnBitrateWithItsTitles() async throws {
            let server = try await TestServer {
                $0.mounts["/live"] = .init()
                $0.mounts["/live-64"] = .init()
                $0.mounts["/live-64"]!.transcode = TranscodeConfiguration(from: "/live", bitrate: 64, sampleRate: 22_050, channels: 1)
            }
            let directory = try TemporaryDirectory()
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3.prefix(32_000)))
            #expect(await server.waitUntil { server.isLive("/live-64") }, "the derived mount goes live with its origin")
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/live-64", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("Content-Type: audio/mpeg"))
            #expect(head.contains("icy-br:64"))
            let reader = listener.receiveAllInBackground(prefix: rest)
            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/live&mode=updinfo&song=Origin%20Title"]
            )
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            try await sendPaced(source, Array(Fixture.mp3[32_000...]), chunk: 8192, pause: .milliseconds(100))
            #expect(try await eventually { (try await Self.stats(server, "/live-64")?["floe_media_seconds"] as? Double ?? 0) > 5 })
            let stats = try #require(try await Self.stats(server, "/live-64"))
            let bitrate = try #require(stats["floe_measured_bitrate"] as? Int)
            #expect(abs(bitrate - 64_000) < 500, "measured \(bitrate) bit/s")
            #expect(stats["floe_sample_rate"] as? Int == 22_050)
            #expect(stats["floe_transcode_from"] as? String == "/live")
            let factor = try #require(Double(stats["floe_transcode_realtime_factor"].map { "\($0)" } ?? ""))
            #expect(factor > 0 && factor < 1, "encoding is faster than real time: \(factor)")
            source.shutdownWrite()
            // The origin ends: so does the derived mount, and its listener's stream.
            #expect(await server.waitUntil { !server.isLive("/live-64") })

            let stream = ICYStream(await reader.value, interval: 16_000)
            #expect(stream.isWellFormed)
            #expect(stream.blocks.compactMap { $0 }.contains("Origin Title"), "the origin's title reaches the transcoded mount")
            let frames = MPEGFrameSynchronizer.frames(in: stream.audio)
            #expect(frames.count > 200)
            #expect(frames.allSatisfy { $0.frame.header.sampleRate == 22_050 && $0.frame.header.channelCount == 1 && $0.frame.header.bitrate == 64_000 })
            let mp3 = directory.path("live-64.mp3")
            try Data(stream.audio).write(to: URL(fileURLWithPath: mp3))
            let wav = directory.path("live-64.wav")
            let decode = try await ExternalProcess.run("mpg123", ["-q", "-w", wav, mp3])
            #expect(decode.status == 0, "mpg123: \(decode.stderr)")
            let audio = try WAVAudio(contentsOf: wav)
            #expect(audio.sampleRate == 22_050 && audio.channels == 1)
            #expect(abs(audio.dominantFrequency - 440) < 5, "the tone: \(audio.dominantFrequency) Hz")
            await server.stop()
        }

        /// A title change reaches the transcoded mount's listeners with the audio it came with at the origin, not
        /// a block early: the audio the transcoder had gathered under the old title goes out under it. With 2 s
        /// blocks, a tone, a title change, then silence: where the title changes against where the silence starts
        /// is the same in both streams (it was about 2 s early in the transcoded one).
        /// When the origin's source leaves for a live fallback, the transcoder follows the origin's listeners there
        /// and the derived mount goes on with the fallback's audio. (This crashed the server: the move re-took a
        /// lock it held; found by a probe.)
        @Test func theTranscoderFollowsTheOriginToItsFallback() async throws {
            let server = try await TestServer {
                $0.mounts["/live"] = .init(fallbackMount: "/backup")
                $0.mounts["/backup"] = .init()
                $0.mounts["/live-64"] = .init()
                $0.mounts["/live-64"]!.transcode = TranscodeConfiguration(from: "/live", bitrate: 64, sampleRate: 22_050, channels: 1)
            }
            let backup = try rawSource(port: server.port, mount: "/backup")
            let backupStreaming = streamUntilCancelled(backup, Fixture.otherMP3)
            let source = try rawSource(port: server.port, mount: "/live")
            let streaming = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/live-64") })
            let (listener, head, _) = try rawListener(port: server.port, mount: "/live-64")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            try await Task.sleep(for: .seconds(2))
            streaming.cancel()
            source.shutdownWrite()
            #expect(await server.waitUntil { !server.isLive("/live") })
            // The server is up, the derived mount still live (transcoding the fallback), its listener still served.
            try await Task.sleep(for: .seconds(3))
            let stats = try await Self.stats(server, "/live-64")
            #expect(stats != nil, "the server answers")
            #expect(!listener.isClosedByPeer(within: 1), "the derived mount's listener is still served")
            #expect(server.isLive("/live-64"))
            backupStreaming.cancel()
            await server.stop()
        }

        @Test func titlesChangeWithTheirAudio() async throws {
            let server = try await TestServer {
                $0.limits.blockDuration = 2
                $0.mounts["/live"] = .init(metadataInterval: 2000)
                $0.mounts["/live-32"] = .init(metadataInterval: 500)
                $0.mounts["/live-32"]!.transcode = TranscodeConfiguration(from: "/live", bitrate: 32, sampleRate: 22_050, channels: 1)
            }
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(SineMP3.make(seconds: 6))
            #expect(await server.waitUntil { server.isLive("/live-32") })
            var readers: [(mount: String, interval: Int, bitrate: Int, reader: Task<[UInt8], Never>)] = []
            for (mount, interval, bitrate) in [("/live", 2000, 128_000), ("/live-32", 500, 32_000)] {
                let (listener, _, rest) = try rawListener(port: server.port, mount: mount, headers: ["Icy-MetaData: 1"])
                readers.append((mount, interval, bitrate, listener.receiveAllInBackground(prefix: rest)))
            }
            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/live&mode=updinfo&song=Silence"]
            )
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            try source.send(SineMP3.make(seconds: 6, frequency: 0))
            #expect(try await eventually { (try await Self.stats(server, "/live-32")?["floe_media_seconds"] as? Double ?? 0) > 9 })
            source.shutdownWrite()
            #expect(await server.waitUntil { !server.isLive("/live-32") })

            let directory = try TemporaryDirectory()
            var leads: [Double] = []
            for (mount, interval, bitrate, reader) in readers {
                let stream = ICYStream(await reader.value, interval: interval)
                #expect(stream.isWellFormed)
                // The title block after audio chunk i: the title applies from the end of that chunk.
                let change = try #require(stream.blocks.firstIndex { $0 == "Silence" }, "\(mount): the title arrives")
                let titleAt = Double((change + 1) * interval * 8) / Double(bitrate)
                let mp3 = directory.path("\(mount.dropFirst()).mp3")
                let wav = directory.path("\(mount.dropFirst()).wav")
                try Data(stream.audio).write(to: URL(fileURLWithPath: mp3))
                _ = try await ExternalProcess.run("mpg123", ["-q", "-w", wav, mp3])
                let silence = try #require(try WAVAudio(contentsOf: wav).silentRuns(minimum: 1).first, "\(mount): silence")
                leads.append(silence.start - titleAt)
            }
            #expect(abs(leads[0] - leads[1]) < 0.3, "the title leads the silence by \(leads[0]) s at the origin, \(leads[1]) s transcoded")
            await server.stop()
        }

        /// An encoder far slower than real time (a test pause after each block) loses queued audio, cut cleanly;
        /// the origin's listener gets every byte, as fast as the source sends them.
        @Test func aSlowTranscoderHoldsUpNoOneElse() async throws {
            let server = try await TestServer {
                $0.mounts["/live"] = .init()
                var slow = TranscodeConfiguration(from: "/live", bitrate: 32, sampleRate: 22_050, channels: 1)
                slow.testDelay = .milliseconds(500)
                $0.mounts["/slow"] = .init()
                $0.mounts["/slow"]!.transcode = slow
            }
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3.prefix(8192)))
            #expect(await server.waitUntil { server.isLive("/live") })
            let (listener, _, rest) = try rawListener(port: server.port, mount: "/live")
            let reader = listener.receiveAllInBackground(prefix: rest)
            // 24 s of audio at once: the slow encoder's queue overflows.
            let clock = ContinuousClock()
            let started = clock.now
            let rest8192 = Array(Fixture.mp3[8192...])
            try source.send(rest8192 + Fixture.mp3 + Fixture.mp3)
            source.shutdownWrite()
            let received = await reader.value
            let elapsed = clock.now - started
            let sent = Fixture.mp3 + Fixture.mp3 + Fixture.mp3
            #expect(received.count >= sent.count - 8192 && Array(sent.suffix(received.count)) == received, "the origin's listener got every byte")
            #expect(elapsed < .seconds(5), "and at once (\(elapsed)), not at the encoder's pace")
            #expect(try await eventually {
                try await prometheusMetrics(port: server.port)["floe_transcode_dropped_seconds{mount=\"/slow\"}", default: 0] > 5
            }, "the slow encoder dropped audio rather than queue it all")
            await server.stop()
        }
    }
}
