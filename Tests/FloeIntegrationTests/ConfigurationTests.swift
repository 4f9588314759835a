import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// The native configuration as an operator uses it: check-config, mounts/, SIGHUP reload under load, logs.
    @Suite("Configuration and reload", .serialized)
    struct ConfigurationTests {
        static var binary: String { IntegrationTests.ExecutableTests.binary }

        func write(_ text: String, to path: String) throws {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }

        @Test func checkConfigPrintsTheEffectiveConfigurationWithPasswordsRedacted() async throws {
            let directory = try TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: directory.path("mounts"), withIntermediateDirectories: true)
            try write(
                """
                authentication:
                  source-password: very-secret
                limits:
                  clients: 321
                """,
                to: directory.path("floe.yaml")
            )
            try write("password: mount-secret\nmax-listeners: 7\n", to: directory.path("mounts/show.yaml"))
            let result = try await ExternalProcess.run(Self.binary, ["check-config", directory.path("floe.yaml")])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
            let limits = try #require(json["limits"] as? [String: Any])
            #expect(limits["clients"] as? Int == 321)
            let text = String(decoding: result.stdout, as: UTF8.self)
            #expect(!text.contains("very-secret") && !text.contains("mount-secret"))
            #expect(text.contains("\"/show\""))
            // JSONEncoder's pretty printing puts a space before the colon.
            #expect(text.contains("\"max-listeners\" : 7"))
        }

        @Test(arguments: [
            ("limits:\n  clinets: 5\n", "floe.yaml:2"),
            ("limits:\n  clients: many\n", "limits/clients"),
            ("mounts:\n  /a:\n    fallback-mount: /b\n  /b:\n    fallback-mount: /a\n", "/a"),
        ])
        func invalidFilesNameFileLineAndOptionAndExitNonZero(yaml: String, expected: String) async throws {
            let directory = try TemporaryDirectory()
            try write(yaml, to: directory.path("floe.yaml"))
            let result = try await ExternalProcess.run(Self.binary, ["check-config", directory.path("floe.yaml")])
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "\(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"))
        }

        /// check-config loads the TLS certificate as the server would: a key that does not match is an error naming
        /// the file; a chain out of order and a certificate expiring within 14 days are warnings.
        @Test func checkConfigChecksTheTLSCertificate() async throws {
            let directory = try TemporaryDirectory()
            let good = try await TestCertificate.make(in: directory, name: "good")
            let other = try await TestCertificate.make(in: directory, name: "other")
            let soon = try await TestCertificate.make(in: directory, name: "soon", days: 3)
            func check(certificate: String, key: String) async throws -> ExternalProcess.Result {
                try write(
                    "listen:\n  - port: 8443\n    tls: on\ntls:\n  certificate: \(certificate)\n  key: \(key)\n",
                    to: directory.path("floe.yaml")
                )
                return try await ExternalProcess.run(Self.binary, ["check-config", directory.path("floe.yaml")])
            }
            let fine = try await check(certificate: good.certificateFile, key: good.keyFile)
            #expect(fine.status == 0, "\(fine.stderr)")
            #expect(!fine.stderr.contains("warning"), "\(fine.stderr)")

            let mismatched = try await check(certificate: good.certificateFile, key: other.keyFile)
            #expect(mismatched.status != 0)
            #expect(mismatched.stderr.contains(other.keyFile) && mismatched.stderr.contains("does not match"), "\(mismatched.stderr)")

            let expiring = try await check(certificate: soon.certificateFile, key: soon.keyFile)
            #expect(expiring.status == 0)
            #expect(expiring.stderr.contains("expires within 14 days"), "\(expiring.stderr)")

            // Out of order: the CA first, then the server certificate, with the CA's key so that the file loads.
            let reversed = directory.path("reversed.pem")
            let leafThenCA = try String(contentsOfFile: good.certificateFile, encoding: .utf8)
            let blocks = leafThenCA.components(separatedBy: "-----END CERTIFICATE-----\n").filter { !$0.isEmpty }
            try (blocks.reversed().map { $0 + "-----END CERTIFICATE-----\n" }.joined()).write(toFile: reversed, atomically: true, encoding: .utf8)
            let caKey = directory.path("good-ca-key.pem")
            let outOfOrder = try await check(certificate: reversed, key: caKey)
            #expect(outOfOrder.status == 0, "\(outOfOrder.stderr)")
            #expect(outOfOrder.stderr.contains("put the leaf first"), "\(outOfOrder.stderr)")

            let missing = try await check(certificate: directory.path("nope.pem"), key: good.keyFile)
            #expect(missing.status != 0)
            #expect(missing.stderr.contains(directory.path("nope.pem")), "\(missing.stderr)")
        }

        @Test func sighupReloadsMountsWithoutDroppingListenersAndReopensLogs() async throws {
            let directory = try TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: directory.path("mounts"), withIntermediateDirectories: true)
            try write(
                """
                listen:
                  - port: 0
                    bind-address: 127.0.0.1
                authentication:
                  source-password: pw
                  admin-password: apw
                paths:
                  logdir: \(directory.url.path)
                  pidfile: \(directory.path("floe.pid"))
                logging:
                  access-log: access.log
                  error-log: error.log
                """,
                to: directory.path("floe.yaml")
            )
            try write("stream-name: Kept\n", to: directory.path("mounts/kept.yaml"))
            try write("stream-name: Removed\n", to: directory.path("mounts/removed.yaml"))
            let process = try ExternalProcess(Self.binary, ["--config", directory.path("floe.yaml")])
            let port = try await IntegrationTests.ExecutableTests.waitForPort(process)

            let pid = try String(contentsOfFile: directory.path("floe.pid"), encoding: .utf8)
            #expect(pid == "\(process.process.processIdentifier)\n")
            let kept = try rawSource(port: port, mount: "/kept", password: "pw")
            let removed = try rawSource(port: port, mount: "/removed", password: "pw")
            try removed.send(Array(Fixture.mp3.prefix(20_000)))
            let feeder = streamUntilCancelled(kept)
            var listeners: [(RawSocket, Task<[UInt8], Never>)] = []
            for _ in 0..<10 {
                let (socket, head, rest) = try rawListener(port: port, mount: "/kept")
                #expect(head.contains("icy-name:Kept"))
                listeners.append((socket, socket.receiveAllInBackground(prefix: rest, limit: 1 << 30)))
            }
            // A duration, not a wait: the listeners are counted once their heads arrived, but this half second of
            // stream is part of what they receive (the byte count checked at the end has a thin margin over 3 s).
            try await Task.sleep(for: .milliseconds(500))

            // A request that ends before the rotation is logged in the old file.
            let early = try RawSocket(port: port)
            try early.send(requestHead("GET /nothing-here HTTP/1.0"))
            #expect(String(decoding: early.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.0 404"))

            // Rotate the access log, remove one mount, add another with a listener limit, and reload.
            try FileManager.default.moveItem(atPath: directory.path("access.log"), toPath: directory.path("access.log.1"))
            try FileManager.default.removeItem(atPath: directory.path("mounts/removed.yaml"))
            try write("max-listeners: 1\nstream-name: Added\n", to: directory.path("mounts/added.yaml"))
            kill(process.process.processIdentifier, SIGHUP)

            #expect(removed.isClosedByPeer(within: 5), "the removed mount's source was ended")
            let added = try rawSource(port: port, mount: "/added", password: "pw")
            try added.send(Array(Fixture.mp3.prefix(20_000)))
            let (first, firstHead, _) = try rawListener(port: port, mount: "/added")
            #expect(firstHead.contains("icy-name:Added"))
            let second = try RawSocket(port: port)
            try second.send(requestHead("GET /added HTTP/1.0"))
            #expect(String(decoding: second.receiveAll(), as: UTF8.self).hasSuffix("max listeners reached"))
            _ = first

            // Everyone on /kept is still there and still receiving: three more seconds of stream (48 KB) after the
            // reload, more than anything they could have had before it.
            try await Task.sleep(for: .seconds(3))
            feeder.cancel()
            kill(process.process.processIdentifier, SIGTERM)
            let result = await process.finish(timeout: 15)
            #expect(result.status == 0)
            #expect(!FileManager.default.fileExists(atPath: directory.path("floe.pid")), "the pid file is removed at exit")
            for (_, task) in listeners {
                let bytes = await task.value
                #expect(bytes.count > 16_000 * 3, "a /kept listener kept receiving through the reload: \(bytes.count) bytes")
            }
            let rotated = try String(contentsOfFile: directory.path("access.log.1"), encoding: .utf8)
            #expect(rotated.contains("\"GET /nothing-here HTTP/1.0\" 404"))
            let fresh = try String(contentsOfFile: directory.path("access.log"), encoding: .utf8)
            #expect(fresh.contains("\"GET /added HTTP/1.0\" 403"), "new lines go to the reopened log: \(fresh)")
            #expect(fresh.contains("\"SOURCE /removed HTTP/1.0\" 200 19"))
            #expect(fresh.components(separatedBy: "\"GET /kept HTTP/1.0\" 200").count - 1 == 10, "ten listeners logged at the end")
            let errors = try String(contentsOfFile: directory.path("error.log"), encoding: .utf8)
            #expect(errors.contains("INFO floe: Configuration reloaded"))
        }
    }
}
