import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// AAC in ADTS: framed and clocked like MP3, so late joiners, ICY titles, fallbacks and HLS work the same way.
    @Suite("AAC", .serialized)
    struct AACTests {
        /// An ADTS file from ffmpeg's AAC encoder, and what ffprobe says of it.
        struct EncodedAAC {
            var bytes: [UInt8]
            var packets: Int
            var sampleRate: Int

            init(in directory: TemporaryDirectory, frequency: Int, sampleRate: Int, channels: Int, bitrate: String, seconds: Int = 10) async throws {
                let path = directory.path("tone-\(frequency)-\(sampleRate).aac")
                let encode = try await ExternalProcess.run(
                    "ffmpeg",
                    ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=\(frequency):duration=\(seconds)",
                     "-ar", "\(sampleRate)", "-ac", "\(channels)", "-c:a", "aac", "-b:a", bitrate, "-f", "adts", "-y", path]
                )
                #expect(encode.status == 0, "\(encode.stderr)")
                bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
                let probe = try await ExternalProcess.run(
                    "ffprobe", ["-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path]
                )
                packets = Int(String(decoding: probe.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                self.sampleRate = sampleRate
            }

            /// Where each ADTS frame starts, read from the 13-bit lengths (the file is frames only).
            var frameStarts: Set<Int> {
                var starts = Set<Int>()
                var offset = 0
                while offset + 7 <= bytes.count {
                    starts.insert(offset)
                    offset += Int(bytes[offset + 3] & 0x03) << 11 | Int(bytes[offset + 4]) << 3 | Int(bytes[offset + 5] >> 5)
                }
                return starts
            }
        }

        /// Decodes `bytes` with ffmpeg and returns what it reported at `-v error` (nothing for a clean stream).
        static func decodeErrors(_ bytes: [UInt8], in directory: TemporaryDirectory, name: String) async throws -> String {
            let path = directory.path(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let decode = try await ExternalProcess.run("ffmpeg", ["-hide_banner", "-v", "error", "-f", "aac", "-i", path, "-f", "null", "-"])
            return decode.status == 0 ? decode.stderr : "exit \(decode.status): \(decode.stderr)"
        }

        static func adminStats(_ server: TestServer, mount: String) async throws -> [String: Any]? {
            let result = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/stats.json"]
            )
            let root = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
            return ((root?["icestats"] as? [String: Any])?["sources"] as? [[String: Any]])?.first { $0["mount"] as? String == mount }
        }

        /// AAC-LC at 44.1 kHz stereo (`audio/aac`), and at 22.05 kHz mono as `audio/aacp`: HE-AAC travels in ADTS as
        /// its AAC-LC core at half the output rate, which is what the framer and the clock see. (This machine's
        /// ffmpeg has no HE-AAC encoder, so the SBR layer itself is not exercised: it rides inside the frames.)
        @Test(arguments: [(44_100, 2, "128k", "audio/aac"), (22_050, 1, "48k", "audio/aacp")])
        func lateListenerDecodesFromItsFirstByteAndTheClockMeasuresTheFrames(
            sampleRate: Int, channels: Int, bitrate: String, contentType: String
        ) async throws {
            let directory = try TemporaryDirectory()
            let aac = try await EncodedAAC(in: directory, frequency: 440, sampleRate: sampleRate, channels: channels, bitrate: bitrate)
            #expect(aac.packets > 200)
            let server = try await TestServer { $0.limits.burstSize = 8192 }
            let source = try rawSource(port: server.port, mount: "/radio.aac", contentType: contentType)
            // Garbage before the first frame is dropped and counted.
            try source.send(Array("junk".utf8))
            let half = aac.bytes.count / 2
            try await sendPaced(source, Array(aac.bytes[..<half]), chunk: 4096, pause: .milliseconds(5))
            #expect(try await eventually {
                try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/radio.aac\"}", default: 0] >= Double(half + 4)
            })

            let (listener, head, rest) = try rawListener(port: server.port, mount: "/radio.aac", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("Content-Type: \(contentType)"))
            let interval = try #require(head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("icy-metaint:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) })
            let reader = listener.receiveAllInBackground(prefix: rest)
            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/radio.aac&mode=updinfo&song=AAC%20Title"]
            )
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            try await sendPaced(source, Array(aac.bytes[half...]), chunk: 4096, pause: .milliseconds(5))

            // The frames sent have been framed and clocked (the figures are refreshed once per published block, so
            // the last half second may not be in them yet): each is 1024 samples.
            let blockFrames = sampleRate / 1024 / 2 + 1
            let framed = try await eventually {
                (try await Self.adminStats(server, mount: "/radio.aac")?["floe_frames"] as? Int ?? 0) >= aac.packets - blockFrames
            }
            #expect(framed, "the ADTS frames are counted")
            let stats = try #require(try await Self.adminStats(server, mount: "/radio.aac"))
            let frames = try #require(stats["floe_frames"] as? Int)
            #expect(frames <= aac.packets)
            let mediaSeconds = Double(frames * 1024) / Double(sampleRate)
            let reported = Double(stats["floe_media_seconds"] as? String ?? "") ?? (stats["floe_media_seconds"] as? Double ?? -1)
            #expect(abs(reported - mediaSeconds) < 0.002, "media time: \(reported) s for \(frames) frames")
            #expect(stats["floe_sample_rate"] as? Int == sampleRate)
            #expect(stats["floe_codec"] as? String == (contentType == "audio/aacp" ? "HE-AAC (AAC-LC core)" : "AAC-LC"))
            #expect(stats["floe_garbage_bytes"] as? Int == 4)
            let bitrate = try #require(stats["floe_measured_bitrate"] as? Int)
            let expectedBitrate = Double(aac.bytes.count * 8) / (Double(aac.packets * 1024) / Double(sampleRate))
            #expect(abs(Double(bitrate) - expectedBitrate) < expectedBitrate * 0.03, "measured \(bitrate), file \(expectedBitrate)")
            source.shutdownWrite()

            let stream = ICYStream(await reader.value, interval: interval)
            #expect(stream.isWellFormed)
            #expect(stream.blocks.compactMap { $0 }.contains("AAC Title"), "the ICY listener sees the title")
            #expect(stream.audio.count < aac.bytes.count - 8192, "the listener joined late: \(stream.audio.count) of \(aac.bytes.count)")
            // It starts on a frame of the file and is the rest of the file, byte for byte.
            let start = aac.bytes.count - stream.audio.count
            #expect(aac.frameStarts.contains(start), "the listener's first byte starts a frame")
            #expect(Array(aac.bytes[start...]) == stream.audio)
            let errors = try await Self.decodeErrors(stream.audio, in: directory, name: "late.aac")
            #expect(errors.isEmpty, "ffmpeg decodes the late listener's stream cleanly: \(errors)")
            await server.stop()
        }

        /// ffmpeg as the source client (`icecast://`, ADTS, `-re`): its listener follows a fallback to another AAC
        /// mount cut between frames, and the mount's HLS playlist plays in ffmpeg.
        @Test func ffmpegSourceFallsBackToAnotherAACMountOnFrameBoundariesAndPlaysOverHLS() async throws {
            let directory = try TemporaryDirectory()
            let other = try await EncodedAAC(in: directory, frequency: 880, sampleRate: 44_100, channels: 2, bitrate: "96k", seconds: 4)
            let server = try await TestServer {
                $0.mounts["/main.aac"] = .init(fallbackMount: "/fb.aac", fallbackOverride: true)
            }
            let fallback = try rawSource(port: server.port, mount: "/fb.aac", contentType: "audio/aac")
            let fallbackFeeder = streamUntilCancelled(fallback, other.bytes)

            let url = "icecast://source:\(TestServer.sourcePassword)@127.0.0.1:\(server.port)/main.aac"
            let ffmpeg = try ExternalProcess(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=9",
                 "-ac", "2", "-c:a", "aac", "-b:a", "128k", "-f", "adts", "-content_type", "audio/aac", url]
            )
            #expect(await server.waitUntil { server.isLive("/main.aac") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/main.aac")
            #expect(head.contains("Content-Type: audio/aac"))
            let stream = listener.receiveAllInBackground(prefix: rest)

            // Three 2-second segments make the playlist playable; ffmpeg plays from it while the source is live.
            let playlist = "http://127.0.0.1:\(server.port)/main.aac.m3u8"
            #expect(try await eventually(timeout: 15) {
                let text = String(decoding: try HLSTests.get(server.port, "/main.aac.m3u8").body, as: UTF8.self)
                return text.components(separatedBy: "#EXTINF").count > 3
            })
            let hls = try await ExternalProcess.run(
                "ffmpeg", ["-hide_banner", "-v", "error", "-i", playlist, "-t", "3", "-f", "null", "-"], timeout: 30
            )
            #expect(hls.status == 0 && hls.stderr.isEmpty, "ffmpeg plays the AAC mount over HLS: \(hls.stderr)")

            let ffmpegResult = await ffmpeg.finish(timeout: 30)
            #expect(ffmpegResult.status == 0, "ffmpeg source: \(ffmpegResult.stderr)")
            // The source is gone: the listener is on /fb.aac now, on the same connection.
            #expect(await server.waitUntil { server.listeners("/fb.aac") == 1 })
            try await Task.sleep(for: .seconds(1))  // a duration: the listener hears /fb.aac for a while
            fallbackFeeder.cancel()
            fallback.shutdownWrite()
            let received = await stream.value

            var fallbackFrames = 0
            var synchronizer = ADTSFrameSynchronizer()
            var offset = 0
            let otherFrames = Set(other.frameStarts.map { start in
                Array(other.bytes[start..<(start + (Int(other.bytes[start + 3] & 0x03) << 11 | Int(other.bytes[start + 4]) << 3 | Int(other.bytes[start + 5] >> 5)))])
            })
            received.withUnsafeBytes { all in
                while offset < all.count {
                    switch synchronizer.step(UnsafeRawBufferPointer(rebasing: all[offset...]), isEndOfStream: true) {
                    case .frame(let frame):
                        if otherFrames.contains(Array(received[offset..<(offset + frame.length)])) { fallbackFrames += 1 }
                        offset += frame.length
                    case .skip(let count, _): offset += count
                    case .needMoreData: return
                    }
                }
            }
            #expect(synchronizer.statistics.garbageBytes == 0, "a frame was cut where the streams switched")
            #expect(synchronizer.statistics.frames > 300)
            #expect(fallbackFrames > 20, "heard /fb.aac after /main.aac")
            let errors = try await Self.decodeErrors(received, in: directory, name: "followed.aac")
            #expect(errors.isEmpty, "ffmpeg decodes across the switch: \(errors)")
            await server.stop()
        }
    }
}
