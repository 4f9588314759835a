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
    }
}
