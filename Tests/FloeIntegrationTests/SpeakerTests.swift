import FloeCore
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

        /// GETs `path` and returns the body.
        static func get(_ port: Int, _ path: String) async throws -> (head: String, body: String) {
            try await onThread {
                let socket = try RawSocket(port: port)
                try socket.send(requestHead("GET \(path) HTTP/1.0"))
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
                try await Task.sleep(for: .milliseconds(100))
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
            try await Task.sleep(for: .milliseconds(1500))
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
    }
}
