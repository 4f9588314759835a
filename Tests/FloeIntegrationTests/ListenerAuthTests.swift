import FloeCore
import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// Listener authentication: Icecast's htpasswd files and URL authentication against a real HTTP service.
    @Suite("Listener authentication", .serialized)
    struct ListenerAuthTests {
        func listen(_ port: Int, _ mount: String, user: String?, password: String = "") throws -> (RawSocket, String) {
            let socket = try RawSocket(port: port)
            var headers: [String] = []
            if let user { headers.append("Authorization: \(basicAuthorization(user, password))") }
            try socket.send(requestHead("GET \(mount) HTTP/1.0", headers))
            let (head, _) = try socket.receiveHead()
            return (socket, head)
        }

        @Test func htpasswdAdmitsKnownUsersOnceAndRefusesOthersWith401() async throws {
            let directory = try TemporaryDirectory()
            // Another user's line in Latin-1 (not UTF-8) does not lock alice out.
            let latin1 = Array("m".utf8) + [0xFC] + Array(HTPasswd.line(user: "ller", password: "x").utf8) + [0x0A]
            try Data(latin1 + Array((HTPasswd.line(user: "alice", password: "wonder") + "\n").utf8))
                .write(to: URL(fileURLWithPath: directory.path("users")))
            let server = try await TestServer {
                $0.mounts["/members"] = .init(
                    listenerAuthentication: .htpasswd(.init(filename: directory.path("users"), allowDuplicateUsers: false))
                )
            }
            let source = try rawSource(port: server.port, mount: "/members")
            try source.send(Array(Fixture.mp3.prefix(20_000)))

            let (alice, aliceHead) = try listen(server.port, "/members", user: "alice", password: "wonder")
            #expect(aliceHead.hasPrefix("HTTP/1.0 200 OK"))
            let (_, twice) = try listen(server.port, "/members", user: "alice", password: "wonder")
            #expect(twice.hasPrefix("HTTP/1.0 401 "), "a second connection of the same user is refused")
            let (_, wrong) = try listen(server.port, "/members", user: "alice", password: "nope")
            #expect(wrong.hasPrefix("HTTP/1.0 401 "))
            #expect(wrong.contains("WWW-Authenticate: Basic realm=\"Icecast2 Server\""))
            let (_, anonymous) = try listen(server.port, "/members", user: nil)
            #expect(anonymous.hasPrefix("HTTP/1.0 401 "))

            #expect(server.listeners("/members") == 1)
            // Once alice leaves, she may come back.
            alice.shutdownWrite()
            #expect(await server.waitUntil { server.listeners("/members") == 0 })
            let (again, againHead) = try listen(server.port, "/members", user: "alice", password: "wonder")
            #expect(againHead.hasPrefix("HTTP/1.0 200 OK"))
            withExtendedLifetime(again) {}
            await server.stop()
        }

        /// The htpasswd file is cached, yet every change to it counts for the next listener: thirty `manageauth`
        /// adds sent at once all land (edits are serialised), and an operator's edit by hand is seen at once.
        @Test func htpasswdEditsAreSerialisedAndSeenByTheNextListener() async throws {
            let directory = try TemporaryDirectory()
            let file = directory.path("users")
            try (HTPasswd.line(user: "alice", password: "wonder") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let server = try await TestServer {
                $0.mounts["/members"] = .init(listenerAuthentication: .htpasswd(.init(filename: file)))
            }
            let source = try rawSource(port: server.port, mount: "/members")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            #expect(await server.waitUntil { server.isLive("/members") })
            let (first, firstHead) = try listen(server.port, "/members", user: "alice", password: "wonder")
            #expect(firstHead.hasPrefix("HTTP/1.0 200 OK"))

            let urls = (0..<30).map { "http://127.0.0.1:\(server.port)/admin/manageauth?mount=/members&action=add&username=user\($0)&password=pw\($0)" }
            let added = try await ExternalProcess.run(
                "curl", ["-s", "-Z", "--parallel-max", "30", "-u", "admin:\(TestServer.adminPassword)"] + urls)
            #expect(String(decoding: added.stdout, as: UTF8.self).components(separatedBy: "User added").count - 1 == 30)
            let users = HTPasswd(contents: try String(contentsOfFile: file, encoding: .utf8)).users
            #expect(users.count == 31, "every concurrent add kept: \(users.keys.sorted())")
            let (user7, user7Head) = try listen(server.port, "/members", user: "user7", password: "pw7")
            #expect(user7Head.hasPrefix("HTTP/1.0 200 OK"))

            // By hand: alice leaves the file, carol joins it.
            try (HTPasswd.line(user: "carol", password: "c") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let (carol, carolHead) = try listen(server.port, "/members", user: "carol", password: "c")
            #expect(carolHead.hasPrefix("HTTP/1.0 200 OK"))
            first.shutdownWrite()
            #expect(await server.waitUntil { server.listeners("/members") == 2 })
            let (_, aliceHead) = try listen(server.port, "/members", user: "alice", password: "wonder")
            #expect(aliceHead.hasPrefix("HTTP/1.0 401 "), "a user removed by hand is refused")
            withExtendedLifetime((user7, carol)) {}
            await server.stop()
        }

        @Test func aProtectedFallbackDoesNotServeListenersWhoDidNotAuthenticateForIt() async throws {
            let directory = try TemporaryDirectory()
            try (HTPasswd.line(user: "alice", password: "wonder") + "\n").write(
                toFile: directory.path("users"), atomically: true, encoding: .utf8)
            let server = try await TestServer {
                $0.mounts["/public"] = .init(fallbackMount: "/private")
                $0.mounts["/private"] = .init(listenerAuthentication: .htpasswd(.init(filename: directory.path("users"))))
            }
            let source = try rawSource(port: server.port, mount: "/private")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            let (_, head) = try listen(server.port, "/public", user: nil)
            #expect(head.hasPrefix("HTTP/1.0 404 "))
            await server.stop()
        }

        /// A URL-authentication service in python3: admits user `good` for 2 s (the value written `2 `, with a
        /// space after it, which once made no time limit at all: found by a probe), logs every form it gets to
        /// `auth.log`; over https with `certificate`. Returns the process and the service's URL.
        func startAuthService(in directory: TemporaryDirectory, certificate: TestCertificate? = nil) async throws -> (ExternalProcess, String) {
            let service = """
                import http.server, ssl, sys, urllib.parse
                log = open(sys.argv[1], "a")
                class Handler(http.server.BaseHTTPRequestHandler):
                    def do_POST(self):
                        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                        fields = urllib.parse.parse_qs(body)
                        log.write(body + "\\n"); log.flush()
                        self.send_response(200)
                        if fields.get("action") == ["listener_add"] and fields.get("user") == ["good"]:
                            self.send_header("icecast-auth-user", "1")
                            self.send_header("icecast-auth-timelimit", "2 ")
                        self.end_headers()
                    def log_message(self, *args):
                        pass
                server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
                if len(sys.argv) > 3:
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    context.load_cert_chain(sys.argv[2], sys.argv[3])
                    server.socket = context.wrap_socket(server.socket, server_side=True)
                print(server.server_port, flush=True)
                server.serve_forever()
                """
            try service.write(toFile: directory.path("auth.py"), atomically: true, encoding: .utf8)
            let python = try ExternalProcess(
                "python3",
                [directory.path("auth.py"), directory.path("auth.log")]
                    + (certificate.map { [$0.certificateFile, $0.keyFile] } ?? [])
            )
            var portLine = ""
            // Polls python's output (up to 10 s) until it has printed its port.
            for _ in 0..<200 where !portLine.contains("\n") {
                portLine += String(decoding: python.availableOutput(), as: UTF8.self)
                try await Task.sleep(for: .milliseconds(50))
            }
            let authPort = try #require(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)))
            let url = certificate == nil ? "http://127.0.0.1:\(authPort)/auth" : "https://localhost:\(authPort)/auth"
            return (python, url)
        }

        @Test func urlAuthenticationAsksTheServiceAndReportsListenersLeaving() async throws {
            let directory = try TemporaryDirectory()
            let (python, url) = try await startAuthService(in: directory)
            defer { python.terminate() }
            let server = try await TestServer {
                $0.mounts["/paid"] = .init(listenerAuthentication: .url(.init(listenerAdd: url, listenerRemove: url)))
            }
            let source = try rawSource(port: server.port, mount: "/paid")
            let feeder = streamUntilCancelled(source)

            let (_, refused) = try listen(server.port, "/paid?token=x", user: "bad", password: "pw")
            #expect(refused.hasPrefix("HTTP/1.0 401 "))
            let start = ContinuousClock.now
            let (good, admitted) = try listen(server.port, "/paid?token=x", user: "good", password: "pw")
            #expect(admitted.hasPrefix("HTTP/1.0 200 OK"))
            // Bounded, so that a listener never cut fails the test instead of hanging it (the source streams in
            // real time: 256 KiB is a burst and about twelve seconds).
            _ = try await onThread { good.receiveAll(limit: 256 * 1024) }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(1900) && elapsed < .seconds(5), "cut at the service's time limit: \(elapsed)")

            #expect(await server.waitUntil {
                ((try? String(contentsOfFile: directory.path("auth.log"), encoding: .utf8)) ?? "").contains("listener_remove")
            })
            let log = try String(contentsOfFile: directory.path("auth.log"), encoding: .utf8)
            let lines = log.split(separator: "\n").map(String.init)
            let add = try #require(lines.first { $0.contains("action=listener_add") && $0.contains("user=good") })
            #expect(add.contains("mount=%2Fpaid%3Ftoken%3Dx"))
            #expect(add.contains("pass=pw") && add.contains("ip=127.0.0.1"))
            let remove = try #require(lines.first { $0.contains("action=listener_remove") })
            #expect(remove.contains("user=good") && remove.contains("duration="))

            // Admitted but not served (a HEAD): the service hears it leave too (it heard only the add).
            let probe = try RawSocket(port: server.port)
            try probe.send(requestHead("HEAD /paid?token=head HTTP/1.0", ["Authorization: \(basicAuthorization("good", "pw"))"]))
            #expect(String(decoding: probe.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.0 200 OK"))
            let released = await server.waitUntil {
                ((try? String(contentsOfFile: directory.path("auth.log"), encoding: .utf8)) ?? "").split(separator: "\n")
                    .contains { $0.contains("action=listener_remove") && $0.contains("token%3Dhead") }
            }
            #expect(released, "listener_remove for the HEAD request")
            feeder.cancel()
            await server.stop()
        }

        /// An auth service on https with a private CA: trusted through `http-client.ca-file`, refused without it
        /// (the certificate is checked, so the listener is not let in).
        @Test func urlAuthenticationOverHTTPSTrustsTheConfiguredCA() async throws {
            let directory = try TemporaryDirectory()
            let certificate = try await TestCertificate.make(in: directory)
            let (python, url) = try await startAuthService(in: directory, certificate: certificate)
            defer { python.terminate() }
            for trusted in [false, true] {
                let server = try await TestServer {
                    $0.mounts["/paid"] = .init(listenerAuthentication: .url(.init(listenerAdd: url)))
                    $0.httpClientCAFile = trusted ? certificate.caFile : nil
                }
                let source = try rawSource(port: server.port, mount: "/paid")
                let feeder = streamUntilCancelled(source)
                let (_, head) = try listen(server.port, "/paid", user: "good", password: "pw")
                if trusted {
                    #expect(head.hasPrefix("HTTP/1.0 200 OK"), "the service's certificate is vouched for by the CA file")
                } else {
                    #expect(head.hasPrefix("HTTP/1.0 401 "), "a certificate the system does not trust: refused")
                }
                feeder.cancel()
                await server.stop()
            }
            let log = try String(contentsOfFile: directory.path("auth.log"), encoding: .utf8)
            #expect(log.components(separatedBy: "action=listener_add").count - 1 == 1, "only the trusting server's request arrived")
        }
    }
}
