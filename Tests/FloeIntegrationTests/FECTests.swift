import FloeCore
import FloeFEC
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// The FEC sender and `floe fec-recv`, end to end: loss injected between them, a late joiner, an independent
    /// decoder on python3-zfec, and multicast with real random loss inside a network namespace.
    @Suite("FEC multicast", .serialized)
    struct FECTests {
        static let binary = ExecutableTests.binary
        static let decoderScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/fec_decode.py").path

        /// Receives Floe's FEC packets and passes them on to several receivers, each through its own loss
        /// pattern (which slices of the i-th group to drop); keeps every packet it saw.
        final class LossyRelay: @unchecked Sendable {
            let input: UDPReceiver
            private let sender: Int32
            private let lock = NSLock()
            private var forwarded = 0
            private var groupIndex: [UInt32: Int] = [:]
            let targets: [(port: Int, drop: @Sendable (_ group: Int, _ slice: Int) -> Bool)]

            init(targets: [(port: Int, drop: @Sendable (Int, Int) -> Bool)]) throws {
                input = try UDPReceiver()
                sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
                self.targets = targets
            }

            /// Forwards what has arrived since the last call; call until the stream ends.
            func pump() {
                let datagrams = input.received
                lock.lock()
                defer { lock.unlock() }
                for datagram in datagrams[forwarded...] {
                    guard let packet = try? FECPacket(parsing: datagram.bytes) else { continue }
                    let group = packet.isEndOfStream ? -1 : groupIndex[packet.groupNumber] ?? {
                        let index = groupIndex.count
                        groupIndex[packet.groupNumber] = index
                        return index
                    }()
                    for target in targets where packet.isEndOfStream || !target.drop(group, Int(packet.sliceNumber)) {
                        send(datagram.bytes, to: target.port)
                    }
                }
                forwarded = datagrams.count
            }

            private func send(_ bytes: [UInt8], to port: Int) {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
                _ = bytes.withUnsafeBytes { raw in
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(sender, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }

            /// Every packet, as the capture file the Python decoder reads (4-byte length, then the datagram).
            func capture() -> [UInt8] {
                input.received.flatMap { datagram in
                    withUnsafeBytes(of: UInt32(datagram.bytes.count).bigEndian, Array.init) + datagram.bytes
                }
            }

            /// The payload of the i-th group, rebuilt from the packets the sender sent (before any loss).
            func groupBytes(_ index: Int) -> [UInt8]? {
                guard let number = lock.withLock({ groupIndex.first { $0.value == index }?.key }) else { return nil }
                let packets = input.received.compactMap { try? FECPacket(parsing: $0.bytes) }
                    .filter { !$0.isEndOfStream && $0.groupNumber == number && $0.sliceNumber < $0.dataSlices }
                    .sorted { $0.sliceNumber < $1.sliceNumber }
                guard let first = packets.first else { return nil }
                return Array(packets.flatMap(\.slice).prefix(Int(first.groupBytes)))
            }

            deinit { close(sender) }
        }

        static func fecOutput(port: Int) -> SpeakerOutputConfiguration {
            SpeakerOutputConfiguration(
                name: "fec",
                kind: .fec(FECOutput(address: "127.0.0.1", port: port, dataSlices: 8, totalSlices: 12, maximumSliceBytes: 1400))
            )
        }

        static func receiver(port: Int, out: String) throws -> ExternalProcess {
            try ExternalProcess(binary, ["fec-recv", "127.0.0.1:\(port)", "--out", out, "--timeout", "30"], unblockingSignals: true)
        }

        @Test func lossUpToNMinusKPerGroupIsRepairedAndMoreLosesOneGroupCleanly() async throws {
            let directory = try TemporaryDirectory()
            let ports = try (0..<4).map { _ in try UDPReceiver.freePort() }
            // Receiver A: group i loses i % 5 slices (0 to 4 = n − k), data slices first, so parity must rebuild them.
            // Receiver B: the same, but group 6 loses 5 slices: one group more than the code can rebuild.
            let relay = try LossyRelay(targets: [
                (ports[0], { @Sendable group, slice in slice < group % 5 }),
                (ports[1], { @Sendable group, slice in group == 6 ? slice < 5 : slice < group % 5 }),
                (ports[2], { @Sendable _, _ in false }),
                (ports[3], { @Sendable group, slice in slice >= 12 - group % 5 }),  // parity lost this time
            ])
            let receivers = [
                try Self.receiver(port: ports[0], out: "-"),  // to standard output, as for `| mpg123 -`
                try Self.receiver(port: ports[1], out: directory.path("b.mp3")),
                // Playing what it rebuilds, through libout123 into a WAV file.
                try ExternalProcess(Self.binary, [
                    "fec-recv", "127.0.0.1:\(ports[3])", "--play", "--driver", "wav", "--device", directory.path("played.wav"), "--timeout", "30",
                ], unblockingSignals: true),
            ]
            for port in [ports[0], ports[1], ports[3]] {
                #expect(await SpeakerTests.waitForUDPBinding(port))
            }
            let server = try await TestServer { $0.mounts["/live"] = MountConfiguration(outputs: [Self.fecOutput(port: relay.input.port)]) }
            let source = try rawSource(port: server.port, mount: "/live")
            let pumping = Task.detached {
                while !Task.isCancelled {
                    relay.pump()
                    try? await Task.sleep(for: .milliseconds(20))  // pumping pace, until cancelled
                }
            }
            // A late joiner starts three seconds in.
            var late: ExternalProcess?
            let started = Date()
            var offset = 0
            while offset < Fixture.mp3.count {
                let end = min(offset + 4096, Fixture.mp3.count)
                try source.send(Array(Fixture.mp3[offset..<end]))
                offset = end
                try await Task.sleep(for: .milliseconds(250))  // real-time pacing of the source
                if late == nil, Date().timeIntervalSince(started) > 3 {
                    late = try Self.receiver(port: ports[2], out: directory.path("late.mp3"))
                }
            }
            // While it plays, the output is in the admin status, and public status shows no more than the mount.
            let stats = try await SpeakerTests.get(
                server.port, "/admin/stats", headers: ["Authorization: \(basicAuthorization("admin", TestServer.adminPassword))"]
            ).body
            #expect(stats.contains("<floe_output_fec_type>fec 8:12:1400</floe_output_fec_type>"), "\(stats)")
            #expect(stats.contains("<floe_output_fec_destination>127.0.0.1:\(relay.input.port)</floe_output_fec_destination>"))
            #expect(stats.contains("<floe_output_fec_state>playing</floe_output_fec_state>"))
            let publicStatus = try await SpeakerTests.get(server.port, "/status-json.xsl").body
            #expect(publicStatus.contains("\"listenurl\"") && !publicStatus.contains("floe_output_fec"))
            source.shutdownWrite()
            let results = [
                await receivers[0].finish(timeout: 30), await receivers[1].finish(timeout: 30), await receivers[2].finish(timeout: 30),
            ]
            pumping.cancel()
            _ = await pumping.value
            relay.pump()
            await server.stop()
            _ = relay

            // A: every group rebuilt, the stream identical to what the source sent.
            let a = [UInt8](results[0].stdout)
            #expect(results[0].status == 0, "\(results[0].stderr)")
            #expect(sameBytes(a, Fixture.mp3), "receiver A rebuilt every frame (\(a.count) of \(Fixture.mp3.count) bytes)")
            #expect(results[0].stderr.contains("from parity"), "\(results[0].stderr)")
            #expect(!results[0].stderr.contains(": lost"))

            // B: group 6 is reported lost and leaves a hole of exactly its frames; all else arrives.
            let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.path("b.mp3"))))
            let lostGroup = try #require(relay.groupBytes(6))
            let start = try #require(Fixture.frameAlignedOffset(of: lostGroup))
            let expected = Array(Fixture.mp3[..<start]) + Array(Fixture.mp3[(start + lostGroup.count)...])
            #expect(sameBytes(b, expected), "receiver B has everything but group 6")
            #expect(results[1].stderr.split(separator: "\n").filter { $0.contains(": lost") }.count == 1, "\(results[1].stderr)")

            // The player heard all eight seconds of the tone, without a hole.
            #expect(results[2].status == 0, "\(results[2].stderr)")
            let played = try WAVAudio(contentsOf: directory.path("played.wav"))
            #expect(abs(played.duration - Double(SpeakerTests.frames.count * 1152) / 44_100) < 0.05, "\(played.duration) s")
            #expect(abs(played.dominantFrequency - 440) < 4)
            #expect(played.silentRuns(minimum: 0.05).isEmpty)

            // The late joiner starts on a group boundary, hence a frame boundary, and has the rest.
            let lateResult = await late!.finish(timeout: 30)
            #expect(lateResult.status == 0, "\(lateResult.stderr)")
            let lateBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.path("late.mp3"))))
            #expect(lateBytes.count > 16_000 && lateBytes.count < Fixture.mp3.count - 16_000)
            let lateStart = Fixture.frameAlignedOffset(of: lateBytes)
            #expect(lateStart != nil && lateStart! + lateBytes.count == Fixture.mp3.count, "a whole-frame suffix of the stream")

            // An independent decoder (python3-zfec) rebuilds the same bytes from the packets Floe sent.
            let capture = directory.path("capture.bin")
            try Data(relay.capture()).write(to: URL(fileURLWithPath: capture))
            let decoded = directory.path("zfec.mp3")
            let python = try await ExternalProcess.run("/usr/bin/python3", [Self.decoderScript, capture, decoded])
            #expect(python.status == 0, "\(python.stderr)")
            let zfecBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: decoded)))
            #expect(sameBytes(zfecBytes, Fixture.mp3), "zfec decoded \(zfecBytes.count) of \(Fixture.mp3.count) bytes")
        }
    

        @Test func aServerStoppingMidStreamSendsItsLastGroupsAndTheEndOfStream() async throws {
            let receiver = try UDPReceiver()
            let server = try await TestServer { $0.mounts["/live"] = MountConfiguration(outputs: [Self.fecOutput(port: receiver.port)]) }
            let source = try rawSource(port: server.port, mount: "/live")
            try await sendPaced(source, Array(Fixture.mp3.prefix(48_000)), chunk: 4096, pause: .milliseconds(250))
            await server.stop()  // the source is still sending
            // Stopping sent the last groups and the end of stream (three copies): wait until the receiver has them.
            #expect(await eventually {
                receiver.received.filter { (try? FECPacket(parsing: $0.bytes))?.isEndOfStream == true }.count >= 3
            })
            let packets = receiver.stop().compactMap { try? FECPacket(parsing: $0.bytes) }
            #expect(packets.last?.isEndOfStream == true, "the stream ends with its end-of-stream packet")
            #expect(packets.filter(\.isEndOfStream).count == 3, "sent three times")
            let groups = Dictionary(grouping: packets.filter { !$0.isEndOfStream }, by: \.groupNumber)
            #expect(!groups.isEmpty && groups.values.allSatisfy { $0.count == 12 }, "every group sent whole: \(groups.mapValues(\.count))")
        }

        // MARK: - Multicast with real loss, in a network namespace

        /// Network namespaces and nftables need root and the two tools; CI runs as root with both installed.
        static let namespacesAvailable = getuid() == 0 && ExternalProcess.which("ip") != nil && ExternalProcess.which("nft") != nil

        /// Runs a command, failing the test if it fails.
        static func run(_ program: String, _ arguments: [String]) async throws -> String {
            let result = try await ExternalProcess.run(program, arguments, timeout: 20)
            #expect(result.status == 0, "\(program) \(arguments.joined(separator: " ")): \(result.stderr)")
            return String(decoding: result.stdout, as: UTF8.self)
        }

        @Test(.enabled(if: namespacesAvailable, "needs root, ip and nft"))
        func multicastInANamespaceWithRandomLossIsRepaired() async throws {
            let directory = try TemporaryDirectory()
            let namespace = "floe-fec-\(UInt32.random(in: 0...UInt32.max))"
            let group = "239.255.77.\(Int.random(in: 1...254))"
            let port = 5010
            _ = try await Self.run("ip", ["netns", "add", namespace])
            defer { _ = try? Process.run(URL(fileURLWithPath: ExternalProcess.which("ip")!), arguments: ["netns", "del", namespace]) }
            _ = try await Self.run("ip", ["-n", namespace, "link", "set", "lo", "up"])
            // 10 % of the group's packets are dropped at random on their way in.
            let rules = """
                table inet floeloss {
                  chain input {
                    type filter hook input priority 0; policy accept;
                    ip daddr \(group) udp dport \(port) numgen random mod 100 < 10 counter drop
                  }
                }
                """
            try rules.write(toFile: directory.path("loss.nft"), atomically: true, encoding: .utf8)
            _ = try await Self.run("ip", ["netns", "exec", namespace, "nft", "-f", directory.path("loss.nft")])

            let configuration = """
                listen:
                  - port: 8000
                    bind-address: 127.0.0.1
                authentication:
                  source-password: \(TestServer.sourcePassword)
                  admin-password: \(TestServer.adminPassword)
                mounts-directory: ~
                paths:
                  logdir: \(directory.path(""))
                  webroot: \(directory.path(""))
                mounts:
                  /live:
                    outputs:
                      - type: fec
                        address: \(group)
                        port: \(port)
                        interface: 127.0.0.1
                        fec: 8:12:1400
                """
            try configuration.write(toFile: directory.path("floe.yaml"), atomically: true, encoding: .utf8)
            let input = try Fixture.writeMP3(in: directory)
            func inNamespace(_ arguments: [String]) throws -> ExternalProcess {
                try ExternalProcess("ip", ["netns", "exec", namespace] + arguments, unblockingSignals: true)
            }
            let server = try inNamespace([Self.binary, "serve", "--config", directory.path("floe.yaml")])
            #expect(try await ExecutableTests.waitForPort(server) == 8000, "the server's \"Listen at:\" line")
            // --timeout: should every copy of the end-of-stream packet be dropped too, the receiver still ends.
            let receiver = try inNamespace([Self.binary, "fec-recv", "\(group):\(port)", "--interface", "127.0.0.1", "--out", directory.path("out.mp3"), "--timeout", "5"])
            // The receiver has joined once the group is on the namespace's loopback interface.
            let joined = try await eventually {
                let memberships = try await ExternalProcess.run("ip", ["-n", namespace, "maddr", "show", "dev", "lo"], timeout: 20)
                return String(decoding: memberships.stdout, as: UTF8.self).split(whereSeparator: \.isWhitespace).contains { $0 == group }
            }
            #expect(joined, "fec-recv joined \(group)")
            let source = try await ExternalProcess.run("ip", [
                "netns", "exec", namespace, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", input, "-c", "copy",
                "-f", "mp3", "-id3v2_version", "0", "-write_xing", "0", "-content_type", "audio/mpeg",
                "icecast://source:\(TestServer.sourcePassword)@127.0.0.1:8000/live",
            ], timeout: 30)
            #expect(source.status == 0, "\(source.stderr)")
            let received = await receiver.finish(timeout: 30)
            server.interrupt()
            _ = await server.finish(timeout: 10)
            let counters = try await Self.run("ip", ["netns", "exec", namespace, "nft", "list", "table", "inet", "floeloss"])

            let dropped = counters.split(separator: " ").split(separator: "packets").dropFirst().first?.first.flatMap { Int($0) } ?? 0
            #expect(dropped > 0, "nftables dropped packets: \(counters)")
            #expect(received.status == 0, "\(received.stderr)")
            #expect(received.stderr.contains("from parity"), "lost slices were rebuilt: \(received.stderr)")
            let output = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.path("out.mp3"))))
            let lostGroups = received.stderr.split(separator: "\n").filter { $0.contains(": lost") }.count
            if lostGroups == 0 {
                #expect(sameBytes(output, Fixture.mp3), "every group rebuilt: the stream is intact")
            } else {
                // Rare (a group losing more than 4 of 12 at 10 %): the holes are whole groups of whole frames.
                let frames = MPEGFrameSynchronizer.frames(in: output)
                #expect(frameCount(in: output, from: Fixture.mp3) == frames.count)
                #expect(output.count < Fixture.mp3.count)
            }
        }
    }
}
