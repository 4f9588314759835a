import FloeCore
import FloeSpeaker
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// The speaker: RTP and local playback driven by the speaker's clock, checked with real receivers (ffmpeg,
    /// GStreamer), a raw UDP socket, libout123's WAV output and `floe play`.
    @Suite("Speaker: RTP and playback", .serialized)
    struct SpeakerTests {
        static let frames = MPEGFrameSynchronizer.frames(in: Fixture.mp3)
        /// The fixture's frames as the mount relays them.
        static let frameBytes = frames.map { Array(Fixture.mp3[$0.offset..<($0.offset + $0.frame.length)]) }

        static func rtp(_ name: String, _ mode: RTPOutput.Mode, port: Int, address: String = "127.0.0.1",
                        interface: String? = nil, gaps: SpeakerOutputConfiguration.GapMode = .pause) -> SpeakerOutputConfiguration {
            SpeakerOutputConfiguration(
                name: name,
                kind: .rtp(RTPOutput(mode: mode, address: address, port: port, interface: interface)),
                gaps: gaps
            )
        }

        /// A server whose `/live` has `outputs`.
        static func server(_ outputs: [SpeakerOutputConfiguration], _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
            try await TestServer { configuration in
                configuration.mounts["/live"] = MountConfiguration(outputs: outputs)
                configure(&configuration)
            }
        }

        /// GETs `path` (with `headers`) and returns the response head and body.
        static func get(_ port: Int, _ path: String, headers: [String] = []) async throws -> (head: String, body: String) {
            try await onThread {
                let socket = try RawSocket(port: port)
                try socket.send(requestHead("GET \(path) HTTP/1.0", headers))
                let (head, rest) = try socket.receiveHead()
                return (head, String(decoding: rest + socket.receiveAll(), as: UTF8.self))
            }
        }

        /// A speaker metric from `/metrics`.
        static func metric(_ port: Int, _ name: String, output: String) async throws -> Double? {
            let text = try await get(port, "/metrics").body
            let prefix = "\(name){mount=\"/live\",output=\"\(output)\"} "
            return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
        }

        /// Waits until `output` has played `frames` frames and stopped.
        static func waitUntilPlayed(_ server: TestServer, _ output: String, frames: Int, timeout: Double = 30) async throws -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let played = try await metric(server.port, "floe_speaker_frames_total", output: output) ?? 0
                let playing = try await metric(server.port, "floe_speaker_playing", output: output) ?? 1
                if Int(played) >= frames, playing == 0 { return true }
                try await Task.sleep(for: .milliseconds(100))  // polling interval
            }
            return false
        }

        /// mpg123's own decode of `mp3` (16-bit, no gapless trimming: every frame's full length, as the speaker
        /// plays it).
        static func referenceDecode(_ mp3: [UInt8], in directory: TemporaryDirectory) async throws -> WAVAudio {
            let path = directory.path("reference-\(UUID().uuidString).mp3")
            try Data(mp3).write(to: URL(fileURLWithPath: path))
            let result = try await ExternalProcess.run("mpg123", ["-q", "--no-gapless", "-e", "s16", "-s", path])
            #expect(result.status == 0, "mpg123: \(result.stderr)")
            return WAVAudio(rawLittleEndian: [UInt8](result.stdout), sampleRate: 44_100, channels: 2)
        }

        /// Waits until a process has bound UDP `port` (it is in /proc/net/udp), so no packet is sent before the
        /// receiver listens.
        static func waitForUDPBinding(_ port: Int, timeout: Double = 20) async -> Bool {
            let hex = String(format: ":%04X ", port)
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let table = try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8), table.contains(hex) { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        struct Packet {
            var header: RTPHeader
            var payload: [UInt8]
            var arrival: Double
        }

        static func packets(_ datagrams: [UDPReceiver.Datagram]) -> [Packet] {
            datagrams.compactMap { datagram in
                RTPHeader(parsing: datagram.bytes).map { Packet(header: $0, payload: Array(datagram.bytes[12...]), arrival: datagram.arrival) }
            }
        }

        // MARK: - On the wire

        @Test func rtpPacketsCarryEveryFrameWithSteadyTimestampsAndAMarkedJumpAfterAnIdleGap() async throws {
            let mpaReceiver = try UDPReceiver()
            let l16Receiver = try UDPReceiver()
            let server = try await Self.server([
                Self.rtp("mpa", .mpa, port: mpaReceiver.port),
                Self.rtp("l16", .l16, port: l16Receiver.port),
            ])
            let directory = try TemporaryDirectory()
            // Three seconds of the tone in real time, a 1.5 s stall, then the rest.
            let source = try rawSource(port: server.port, mount: "/live")
            let split = Self.frames[115].offset
            try await sendPaced(source, Array(Fixture.mp3[..<split]), chunk: 4096, pause: .milliseconds(250))
            // Public status names where each RTP output's SDP is.
            let status = try await Self.get(server.port, "/status-json.xsl").body
            #expect(status.contains("\"floe_output_mpa_sdp\":\"http://localhost:\(server.port)/live.sdp?output=mpa\""), "\(status)")
            try await Task.sleep(for: .milliseconds(1500))  // the stall itself: a duration, the gap the timestamps must show
            try await sendPaced(source, Array(Fixture.mp3[split...]), chunk: 4096, pause: .milliseconds(250))
            source.shutdownWrite()
            #expect(try await Self.waitUntilPlayed(server, "mpa", frames: Self.frames.count))
            #expect(try await Self.waitUntilPlayed(server, "l16", frames: Self.frames.count))
            let mpa = Self.packets(mpaReceiver.stop())
            let l16 = Self.packets(l16Receiver.stop())
            await server.stop()

            // MPA: one whole frame per packet, all of them, in order.
            #expect(mpa.count == Self.frames.count)
            #expect(mpa.allSatisfy { $0.header.payloadType == 14 && $0.header.ssrc == mpa[0].header.ssrc })
            #expect(mpa.allSatisfy { Array($0.payload.prefix(4)) == [0, 0, 0, 0] }, "RFC 2250 header: MBZ 0, offset 0")
            #expect(sameBytes(mpa.flatMap { $0.payload.dropFirst(4) }, Fixture.mp3), "every frame relayed intact")
            #expect(zip(mpa, mpa.dropFirst()).allSatisfy { $1.header.sequenceNumber == $0.header.sequenceNumber &+ 1 })
            let mpaMarkers = mpa.indices.filter { mpa[$0].header.marker }
            #expect(mpaMarkers.count == 2 && mpaMarkers.first == 0, "the first packet, and the first after the stall")
            for index in 1..<mpa.count where !mpa[index].header.marker {
                let step = mpa[index].header.timestamp &- mpa[index - 1].header.timestamp
                #expect(step == 2351 || step == 2352, "1152 samples at 44.1 kHz on the 90 kHz clock, got \(step)")
            }
            if mpaMarkers.count == 2 {
                let resume = mpaMarkers[1]
                let jump = Double(mpa[resume].header.timestamp &- mpa[resume - 1].header.timestamp) / 90_000
                let expected = mpa[resume].arrival - mpa[resume - 1].arrival
                #expect(abs(jump - expected) < 0.1, "the timestamp jumps by the gap: \(jump) s vs \(expected) s of wall time")
                #expect(expected > 0.5, "the stall left a gap of \(expected) s")
            }

            // L16: PT 10, full packets of 365 sample frames, timestamps counting frames, same marker pattern.
            #expect(l16.allSatisfy { $0.header.payloadType == 10 && $0.header.ssrc == l16[0].header.ssrc })
            #expect(l16[0].header.ssrc != mpa[0].header.ssrc, "each output is its own RTP session")
            #expect(zip(l16, l16.dropFirst()).allSatisfy { $1.header.sequenceNumber == $0.header.sequenceNumber &+ 1 })
            let l16Markers = l16.indices.filter { l16[$0].header.marker }
            #expect(l16Markers.count == 2 && l16Markers.first == 0)
            for index in 1..<l16.count where !l16[index].header.marker {
                let frames = UInt32(l16[index - 1].payload.count / 4)
                #expect(l16[index].header.timestamp &- l16[index - 1].header.timestamp == frames)
            }
            if l16Markers.count == 2 {
                let resume = l16Markers[1]
                let before = l16[resume - 1]
                let jump = Double(l16[resume].header.timestamp &- before.header.timestamp &- UInt32(before.payload.count / 4)) / 44_100
                let wall = l16[resume].arrival - before.arrival
                #expect(wall > 0.5, "the talkspurt's last packet went out when the stall began, \(wall) s before the next")
                #expect(abs(jump - wall) < 0.1, "the timestamp jumps by the gap: \(jump) s vs \(wall) s of wall time")
            }
            let shortPackets = l16.indices.filter { l16[$0].payload.count != 1460 }
            #expect(shortPackets.count <= 2, "only a talkspurt's last packet is short: \(shortPackets)")
            #expect(l16.allSatisfy { $0.payload.count <= 1460 && $0.payload.count % 4 == 0 })
            // The PCM is mpg123's decode of the same frames, sample for sample.
            var pcm: [Int16] = []
            for packet in l16 {
                for index in stride(from: 0, to: packet.payload.count, by: 2) {
                    pcm.append(Int16(bitPattern: UInt16(packet.payload[index]) << 8 | UInt16(packet.payload[index + 1])))
                }
            }
            let reference = try await Self.referenceDecode(Fixture.mp3, in: directory)
            #expect(pcm.count <= reference.samples.count && pcm.count >= reference.samples.count - 1152 * 2,
                    "\(pcm.count) samples of \(reference.samples.count)")
            #expect(pcm == Array(reference.samples.prefix(pcm.count)), "big-endian samples equal to mpg123's decode")
        }
    

        // MARK: - Real receivers

        /// Checks received audio against the decoded source: same length within a frame (plus `slack`), the same
        /// tone, no clicks, no holes, high correlation.
        static func expectMatches(_ received: WAVAudio, _ reference: WAVAudio, _ name: String, slack: Double = 0) {
            let frame = 1152.0 / 44_100
            #expect(received.sampleRate == 44_100 && received.channels == 2, "\(name): \(received.sampleRate) Hz, \(received.channels) ch")
            #expect(abs(received.duration - reference.duration) <= frame + slack,
                    "\(name): \(received.duration) s received, \(reference.duration) s sent")
            #expect(abs(received.dominantFrequency - 440) < 4, "\(name): \(received.dominantFrequency) Hz")
            #expect(received.largestStep <= reference.largestStep * 3 / 2 + 200,
                    "\(name): a click (step \(received.largestStep) vs \(reference.largestStep) in the source)")
            #expect(received.silentRuns(minimum: 0.05).isEmpty, "\(name): holes \(received.silentRuns(minimum: 0.05))")
            let correlation = received.correlation(with: reference, maximumLag: 2048)
            #expect(correlation.value > 0.95, "\(name): correlation \(correlation.value)")
        }

        @Test func ffmpegWithTheServedSDPAndGStreamerDecodeBothPayloads() async throws {
            let directory = try TemporaryDirectory()
            let ports = try (0..<4).map { _ in try UDPReceiver.freePort() }
            let server = try await Self.server([
                Self.rtp("mpa-ffmpeg", .mpa, port: ports[0]),
                Self.rtp("mpa-gst", .mpa, port: ports[1]),
                Self.rtp("l16-ffmpeg", .l16, port: ports[2]),
                Self.rtp("l16-gst", .l16, port: ports[3]),
            ])
            let sdp = try await Self.get(server.port, "/live.sdp?output=l16-ffmpeg")
            #expect(sdp.head.hasPrefix("HTTP/1.0 200") && sdp.head.lowercased().contains("content-type: application/sdp"))
            #expect(sdp.body.contains("m=audio \(ports[2]) RTP/AVP 10\r\na=rtpmap:10 L16/44100/2\r\n"))
            #expect(try await Self.get(server.port, "/live.sdp").body.contains("a=rtpmap:14 MPA/90000"), "the first RTP output")
            #expect(try await Self.get(server.port, "/live.sdp?output=nope").head.hasPrefix("HTTP/1.0 404"))

            func ffmpeg(_ output: String, _ file: String) throws -> ExternalProcess {
                try ExternalProcess("ffmpeg", [
                    "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,http,tcp,udp,rtp",
                    "-f", "sdp", "-i", "http://127.0.0.1:\(server.port)/live.sdp?output=\(output)",
                    "-c:a", "pcm_s16le", "-y", directory.path(file),
                ], unblockingSignals: true)
            }
            func gstreamer(port: Int, caps: String, depayloader: String, _ file: String) throws -> ExternalProcess {
                try ExternalProcess("gst-launch-1.0", [
                    "-e", "udpsrc", "address=127.0.0.1", "port=\(port)", "caps=application/x-rtp,media=(string)audio,\(caps)",
                    "!", "rtpjitterbuffer", "latency=100", "!",
                ] + depayloader.split(separator: " ").map(String.init) + [
                    "!", "audioconvert", "!", "audio/x-raw,format=S16LE", "!", "wavenc", "!", "filesink", "location=\(directory.path(file))",
                ], unblockingSignals: true)
            }
            let receivers = [
                try ffmpeg("mpa-ffmpeg", "mpa-ffmpeg.wav"),
                try gstreamer(port: ports[1], caps: "clock-rate=(int)90000,encoding-name=(string)MPA,payload=(int)14",
                              depayloader: "rtpmpadepay ! mpegaudioparse ! mpg123audiodec", "mpa-gst.wav"),
                try ffmpeg("l16-ffmpeg", "l16-ffmpeg.wav"),
                try gstreamer(port: ports[3], caps: "clock-rate=(int)44100,encoding-name=(string)L16,channels=(int)2,payload=(int)10",
                              depayloader: "rtpL16depay", "l16-gst.wav"),
            ]
            for port in [ports[0], ports[2]] {
                #expect(await Self.waitForUDPBinding(port), "ffmpeg listens on \(port)")
            }
            // gst-launch reports its clock once the pipeline plays; before that, udpsrc may drop what arrives.
            for gstreamer in [receivers[1], receivers[3]] {
                var banner = ""
                let deadline = Date().addingTimeInterval(20)
                while !banner.contains("New clock"), Date() < deadline {
                    banner += String(decoding: gstreamer.availableOutput(), as: UTF8.self)
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(banner.contains("New clock"), "GStreamer's pipeline plays: \(banner)")
            }
            let source = try rawSource(port: server.port, mount: "/live")
            try await sendPaced(source, Fixture.mp3, chunk: 4096, pause: .milliseconds(250))
            source.shutdownWrite()
            for output in ["mpa-ffmpeg", "mpa-gst", "l16-ffmpeg", "l16-gst"] {
                #expect(try await Self.waitUntilPlayed(server, output, frames: Self.frames.count))
            }
            // The receivers write as they decode: once no file has grown for a second, they have everything.
            var sizes: [Int] = []
            for _ in 0..<60 {
                try await Task.sleep(for: .milliseconds(500))
                let now = ["mpa-ffmpeg", "mpa-gst", "l16-ffmpeg", "l16-gst"].map { name in
                    ((try? FileManager.default.attributesOfItem(atPath: directory.path("\(name).wav")))?[.size] as? Int) ?? 0
                }
                if now == sizes { break }
                sizes = now
            }
            for receiver in receivers { receiver.interrupt() }
            for receiver in receivers {
                let result = await receiver.finish(timeout: 20)
                #expect(!result.stderr.lowercased().contains("error"), "\(result.stderr)")
            }
            await server.stop()

            let reference = try await Self.referenceDecode(Fixture.mp3, in: directory)
            for name in ["mpa-ffmpeg", "mpa-gst", "l16-ffmpeg", "l16-gst"] {
                let received = try WAVAudio(contentsOf: directory.path("\(name).wav"))
                Self.expectMatches(received, reference, name)
            }
        }
    

        @Test func aReloadStartsChangedOutputsAndKeepsUnchangedOnesRunning() async throws {
            let receiver = try UDPReceiver()
            let server = try await TestServer()
            #expect(try await Self.get(server.port, "/live.sdp").head.hasPrefix("HTTP/1.0 404"))
            var configuration = server.configuration
            configuration.mounts["/live"] = MountConfiguration(outputs: [Self.rtp("kept", .mpa, port: receiver.port)])
            server.server.reload(configuration)
            let first = try await Self.get(server.port, "/live.sdp").body
            #expect(first.contains("m=audio \(receiver.port) RTP/AVP 14"))
            // Adding a second output leaves the first one's session (its SSRC, in the SDP's o= line) as it was.
            configuration.mounts["/live"]?.outputs.append(Self.rtp("added", .l16, port: receiver.port + 1))
            server.server.reload(configuration)
            #expect(try await Self.get(server.port, "/live.sdp?output=kept").body == first)
            #expect(try await Self.get(server.port, "/live.sdp?output=added").body.contains("L16/44100/2"))
            configuration.mounts["/live"] = nil
            server.server.reload(configuration)
            #expect(try await Self.get(server.port, "/live.sdp").head.hasPrefix("HTTP/1.0 404"))
            await server.stop()
            receiver.stop()
        }

        @Test func anOutputOnAMountWithoutASourcePlaysItsLiveFallbackUntilTheSourceComes() async throws {
            let receiver = try UDPReceiver()
            let server = try await TestServer { $0.mounts["/live"] = MountConfiguration(fallbackMount: "/backup") }
            let backup = try rawSource(port: server.port, mount: "/backup")
            let backupStream = streamUntilCancelled(backup, Fixture.otherMP3)
            #expect(await server.waitUntil { server.isLive("/backup") })
            var configuration = server.configuration
            configuration.mounts["/live"]?.outputs = [Self.rtp("out", .mpa, port: receiver.port)]
            server.server.reload(configuration)
            // The new output plays the fallback: its packets arrive.
            #expect(await server.waitUntil { !receiver.received.isEmpty }, "the output plays /backup")
            let live = try rawSource(port: server.port, mount: "/live")
            try await sendPaced(live, Array(Fixture.mp3.prefix(32_000)), chunk: 4096, pause: .milliseconds(250))
            // The output has come to the live source once its frames arrive, and has played out what it was sent once
            // it stops playing (the source is still connected, silent: the output pauses).
            let liveFrames = Set(Self.frameBytes)
            let playedLive = try await eventually {
                guard Self.packets(receiver.received).contains(where: { liveFrames.contains(Array($0.payload.dropFirst(4))) }) else { return false }
                return try await Self.metric(server.port, "floe_speaker_playing", output: "out") == 0
            }
            #expect(playedLive, "the output played the live source's audio")
            backupStream.cancel()
            _ = try? await backupStream.value
            await server.stop()
            var runs: [String] = []
            for packet in Self.packets(receiver.stop()) {
                let source = liveFrames.contains(Array(packet.payload.dropFirst(4))) ? "live" : "backup"
                if runs.last != source { runs.append(source) }
            }
            #expect(runs == ["backup", "live"], "\(runs)")
        }

        // MARK: - Local playback

        @Test func playbackIntoAWAVFileRunsInRealTimeEvenFromABurstAndMatchesMpg123() async throws {
            let directory = try TemporaryDirectory()
            let file = directory.path("played.wav")
            let output = SpeakerOutputConfiguration(
                name: "wav",
                kind: .playback(PlaybackOutput(driver: "wav", device: file)),
                maximumBuffer: 10
            )
            let server = try await Self.server([output])
            // The whole eight seconds at once: the speaker must still play them in eight seconds.
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Fixture.mp3)
            source.shutdownWrite()
            var growth: [(time: Double, bytes: Int)] = []
            let started = Date()
            while Date().timeIntervalSince(started) < 30 {
                let size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
                growth.append((Date().timeIntervalSince(started), size))
                if try await Self.metric(server.port, "floe_speaker_playing", output: "wav") == 0,
                   try await Self.metric(server.port, "floe_speaker_frames_total", output: "wav") == Double(Self.frames.count) {
                    break
                }
                try await Task.sleep(for: .milliseconds(100))  // sampling interval of the file's growth
            }
            await server.stop()
            let played = try WAVAudio(contentsOf: file)
            let reference = try await Self.referenceDecode(Fixture.mp3, in: directory)

            // Real time, measured from the file's growth: from its first bytes to its last, as long as the media.
            let bytesPerSecond = 44_100.0 * 4
            let first = try #require(growth.first { $0.bytes > 0 })
            let last = try #require(growth.first { $0.bytes >= growth.last!.bytes })
            let wall = last.time - first.time
            #expect(abs(wall - reference.duration) < 0.6, "grew for \(wall) s for \(reference.duration) s of audio")
            // Halfway through, the file holds about half the audio (not all of it, as a burst would).
            if let middle = growth.first(where: { $0.time >= first.time + wall / 2 }) {
                let audio = Double(middle.bytes) / bytesPerSecond
                let elapsed = middle.time - first.time
                #expect(abs(audio - elapsed) < 0.5, "\(audio) s of audio after \(elapsed) s")
            }
            // The samples are mpg123's decode of the same frames, and the WAV header was finished.
            #expect(played.sampleRate == 44_100 && played.channels == 2)
            #expect(played.samples.count >= reference.samples.count - 1152 * 2 && played.samples.count <= reference.samples.count,
                    "\(played.samples.count) samples of \(reference.samples.count)")
            #expect(played.samples == Array(reference.samples.prefix(played.samples.count)), "sample for sample")
        }

        @Test func aSourceChangeTo48kHzMonoKeepsTheDeviceFormatAndThePitch() async throws {
            let directory = try TemporaryDirectory()
            let file = directory.path("changed.wav")
            let output = SpeakerOutputConfiguration(name: "wav", kind: .playback(PlaybackOutput(driver: "wav", device: file)))
            let server = try await Self.server([output]) { $0.mounts["/live"]?.fallbackMount = "/mono" }
            // /mono: 880 Hz at 48 kHz, one channel.
            let mono = SineMP3.make(seconds: 8, frequency: 880, sampleRate: 48_000, channels: 1)
            let fallback = try rawSource(port: server.port, mount: "/mono")
            let fallbackStream = streamUntilCancelled(fallback, mono)
            let live = try rawSource(port: server.port, mount: "/live")
            try await sendPaced(live, Array(Fixture.mp3[..<Self.frames[77].offset]), chunk: 4096, pause: .milliseconds(250))
            live.shutdownWrite()
            try await Task.sleep(for: .seconds(3))  // a duration: three seconds of /mono played after /live, the part checked below
            fallbackStream.cancel()
            fallback.shutdownWrite()
            _ = try? await fallbackStream.value
            #expect(await server.waitUntil(timeout: 20) { ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int ?? 0) > 0 })
            // With /mono gone too, the output plays out what it holds and stops.
            #expect(try await Self.waitUntilPlayed(server, "wav", frames: 77))
            await server.stop()

            let played = try WAVAudio(contentsOf: file)
            #expect(played.sampleRate == 44_100 && played.channels == 2, "the device kept its format")
            let cut = 77 * 1152 * 2  // the /live part: 77 frames of stereo
            try #require(played.samples.count > cut + 44_100 * 2)
            let first = WAVAudio(sampleRate: 44_100, channels: 2, samples: Array(played.samples[..<cut]))
            let second = WAVAudio(sampleRate: 44_100, channels: 2, samples: Array(played.samples[(cut + 4410 * 2)...]))
            #expect(abs(first.dominantFrequency - 440) < 4, "\(first.dominantFrequency) Hz")
            #expect(abs(second.dominantFrequency - 880) < 8, "resampled, not sped up or slowed down: \(second.dominantFrequency) Hz")
            #expect(second.left == stride(from: 1, to: second.samples.count, by: 2).map { second.samples[$0] }, "mono on both channels")
        }

        // MARK: - Multicast, fallbacks

        /// Into the fallback without a gap or a jump; back home when the mount's source returns (after a gap, if
        /// the new source's first block comes later than the fallback's audio runs out).
        @Test func multicastOnLoopbackFollowsTheListenersToTheFallbackWithoutAJumpAndComesHome() async throws {
            let group = "239.255.\(Int.random(in: 1...254)).\(Int.random(in: 1...254))"
            let receiver = try UDPReceiver(port: try UDPReceiver.freePort(), multicastGroup: group)
            let server = try await Self.server([Self.rtp("multicast", .mpa, port: receiver.port, address: group, interface: "127.0.0.1")]) {
                $0.mounts["/live"]?.fallbackMount = "/backup"
            }
            let sdp = try await Self.get(server.port, "/live.sdp").body
            #expect(sdp.contains("c=IN IP4 \(group)/1\r\n"), "a multicast group with its TTL: \(sdp)")
            let backup = try rawSource(port: server.port, mount: "/backup")
            let backupStream = streamUntilCancelled(backup, Fixture.otherMP3)
            // /live plays three seconds, ends (the speaker moves to /backup), then comes back for two.
            let live = try rawSource(port: server.port, mount: "/live")
            try await sendPaced(live, Array(Fixture.mp3[..<Self.frames[115].offset]), chunk: 4096, pause: .milliseconds(250))
            live.shutdownWrite()
            #expect(await server.waitUntil { !server.isLive("/live") })
            try await Task.sleep(for: .seconds(3))  // a duration: three seconds on /backup before the source returns
            let returning = try rawSource(port: server.port, mount: "/live")
            try await sendPaced(returning, Array(Fixture.mp3[..<Self.frames[77].offset]), chunk: 4096, pause: .milliseconds(250))
            // Home again once /live's frames follow /backup's, and the audio sent played out once the output stops
            // playing (the returning source is still connected, silent: the output pauses).
            let liveFrames = Set(Self.frameBytes)
            let cameHome = try await eventually {
                let heard = Self.packets(receiver.received).map { liveFrames.contains(Array($0.payload.dropFirst(4))) }
                guard let fallback = heard.firstIndex(of: false), heard[fallback...].contains(true) else { return false }
                return try await Self.metric(server.port, "floe_speaker_playing", output: "multicast") == 0
            }
            #expect(cameHome, "the output came back to /live and played its audio")
            backupStream.cancel()
            returning.shutdownWrite()
            _ = try? await backupStream.value
            await server.stop()
            let packets = Self.packets(receiver.stop())

            // Which tone each packet carries, in runs: /live, /backup, /live again.
            let sources = packets.map { liveFrames.contains(Array($0.payload.dropFirst(4))) ? "live" : "backup" }
            var runs: [String] = []
            for source in sources where runs.last != source { runs.append(source) }
            #expect(runs == ["live", "backup", "live"], "\(runs)")
            #expect(packets.allSatisfy { $0.header.ssrc == packets[0].header.ssrc }, "one RTP session throughout")
            #expect(zip(packets, packets.dropFirst()).allSatisfy { $1.header.sequenceNumber == $0.header.sequenceNumber &+ 1 })
            // Into the fallback: no gap, no marker, the clock steps on by one frame.
            guard let handover = sources.firstIndex(of: "backup") else { return }
            for index in 1...handover {
                let step = packets[index].header.timestamp &- packets[index - 1].header.timestamp
                #expect(step == 2351 || step == 2352, "steady across the handover, got \(step) at packet \(index)")
                #expect(!packets[index].header.marker)
            }
        }

        // MARK: - floe play

        @Test func floePlayPlaysAMountIntoAWAVFileAndReportsAMissingOne() async throws {
            let directory = try TemporaryDirectory()
            let server = try await TestServer()
            let binary = ExecutableTests.binary
            let missing = try await ExternalProcess.run(binary, ["play", "/nothing", "--port", "\(server.port)", "--driver", "wav", "--device", directory.path("none.wav")], timeout: 20)
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("404"), "\(missing.stderr)")

            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3[..<Self.frames[38].offset]))  // one second
            let file = directory.path("play.wav")
            let player = try ExternalProcess(binary, ["play", "/live", "--port", "\(server.port)", "--driver", "wav", "--device", file, "--jitter-buffer", "0.3"])
            #expect(await server.waitUntil { server.listeners("/live") == 1 })
            try await sendPaced(source, Array(Fixture.mp3[Self.frames[38].offset..<Self.frames[154].offset]), chunk: 4096, pause: .milliseconds(250))
            source.shutdownWrite()
            let result = await player.finish(timeout: 30)
            await server.stop()
            #expect(result.status == 0, "\(result.stderr)")
            let played = try WAVAudio(contentsOf: file)
            // It heard the burst (the first second) and the rest: four seconds of tone, with no hole.
            #expect(abs(played.duration - 154 * 1152 / 44_100.0) < 0.1, "\(played.duration) s")
            #expect(abs(played.dominantFrequency - 440) < 4)
            #expect(played.silentRuns(minimum: 0.05).isEmpty)
        }
    }
}
