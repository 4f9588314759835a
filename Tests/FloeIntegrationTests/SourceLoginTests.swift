import FloeCore
import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// Source logins byte for byte, as Icecast 2.4 answers them.
    @Suite("Source logins on the wire", .serialized)
    struct SourceLoginTests {
        let ok = Array("HTTP/1.0 200 OK\r\n\r\n".utf8)

        @Test(arguments: ["HTTP/1.0", "HTTP/1.1", "ICE/1.0"])
        func sourceGetsExactlyNineteenBytes(protocolToken: String) async throws {
            let server = try await TestServer()
            defer { Task { await server.stop() } }
            let socket = try RawSocket(port: server.port)
            try socket.send(
                requestHead(
                    "SOURCE /live \(protocolToken)",
                    ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))", "Content-Type: audio/mpeg"]
                )
            )
            #expect(socket.receive(exactly: 19) == ok)
            #expect(await server.waitUntil { server.isLive("/live") })
            // Nothing else is ever sent to a source.
            try socket.send(Array(Fixture.mp3.prefix(8192)))
            // Once the server has read the audio, anything it were to answer would follow within the quiet time.
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/live\"}", default: 0] >= 8192 })
            var quiet = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(socket.descriptor, SOL_SOCKET, SO_RCVTIMEO, &quiet, socklen_t(MemoryLayout<timeval>.size))
            #expect((try? socket.receive()) == nil)
            await server.stop()
        }

        @Test func putWithExpectGetsContinueThenOK() async throws {
            let server = try await TestServer()
            let socket = try RawSocket(port: server.port)
            try socket.send(
                requestHead(
                    "PUT /put.mp3 HTTP/1.1",
                    [
                        "Authorization: \(basicAuthorization("source", TestServer.sourcePassword))",
                        "Content-Type: audio/mpeg", "Expect: 100-continue",
                    ]
                )
            )
            let expected = Array("HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\n\r\n".utf8)
            #expect(socket.receive(exactly: expected.count) == expected)
            await server.stop()
        }

        /// Everything the server answers a `SOURCE` login at `path` with the right password, until it closes.
        func loginReply(_ server: TestServer, _ path: String, contentType: String) throws -> String {
            let socket = try RawSocket(port: server.port)
            try socket.send(
                requestHead(
                    "SOURCE \(path) HTTP/1.0",
                    ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))", "Content-Type: \(contentType)"]
                )
            )
            return String(decoding: socket.receiveAll(), as: UTF8.self)
        }

        /// A mount name a configured mount could not have is refused: a line break in one became a second line of
        /// `streamlist.txt`, and every slave relayed the URL written there (found by a probe).
        @Test(arguments: ["/x%0D%0Ahttp://127.0.0.1:9/stolen", "/a%00b", "/tab%09bed", "/my%20stream", "/x/..", "//x"])
        func aMountNameNoConfiguredMountCouldHaveIsRefused(path: String) async throws {
            let server = try await TestServer()
            let reply = try loginReply(server, path, contentType: "audio/mpeg")
            #expect(reply.hasPrefix("HTTP/1.0 400 "), "\(reply)")
            await server.stop()
        }

        /// A source cannot take the server's own paths: a live mount is served before them, and one at `/admin.js`
        /// ran its script inside the admin page (found by a probe). A configured mount there is the operator's choice.
        @Test(arguments: ["/admin.js", "/Admin/x", "/admin", "/floe.js", "/floe.css", "/metrics", "/status-json.xsl", "/status.xsl", "/index.html", "/live.sdp"])
        func theServersOwnPathsAreNoMounts(path: String) async throws {
            let server = try await TestServer { $0.mounts["/metrics-feed"] = .init() }
            let reply = try loginReply(server, path, contentType: "text/javascript")
            #expect(reply.hasPrefix("HTTP/1.0 403 "), "\(path): \(reply)")
            #expect(!server.isLive(path))
            await server.stop()
        }

        /// A name the configuration gives a mount is taken as it is: icecast.xml, like Icecast, allows `/my stream`.
        @Test func aConfiguredMountWithASpaceInItsNameTakesASourceAndListeners() async throws {
            let server = try await TestServer { $0.mounts["/my stream"] = MountConfiguration() }
            let source = try rawSource(port: server.port, mount: "/my%20stream")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            let (_, head, _) = try rawListener(port: server.port, mount: "/my%20stream")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            await server.stop()
        }

        @Test func putWithoutContentTypeIsRefused() async throws {
            let server = try await TestServer()
            let socket = try RawSocket(port: server.port)
            try socket.send(requestHead("PUT /x HTTP/1.1", ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))"]))
            let reply = String(decoding: socket.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
            #expect(reply.hasSuffix("\r\n\r\nNo Content-type given"))
            await server.stop()
        }

        @Test(arguments: [nil, "source:wrong", "admin:\(TestServer.adminPassword)", "relay:x"] as [String?])
        func wrongOrMissingCredentialsGet401WithChallenge(credentials: String?) async throws {
            let server = try await TestServer()
            let socket = try RawSocket(port: server.port)
            var headers = ["Content-Type: audio/mpeg", "Content-Length: 0"]
            if let credentials {
                let parts = credentials.split(separator: ":")
                headers.append("Authorization: \(basicAuthorization(String(parts[0]), String(parts[1])))")
            }
            try socket.send(requestHead("SOURCE /live HTTP/1.0", headers))
            let reply = String(decoding: socket.receiveAll(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.0 401 Authentication Required\r\n"))
            #expect(reply.contains("\r\nWWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n"))
            #expect(reply.hasSuffix("\r\n\r\nYou need to authenticate\r\n"))
            #expect(!server.isLive("/live"))
            await server.stop()
        }

        @Test func perMountCredentialsReplaceTheGlobalOnes() async throws {
            let server = try await TestServer { $0.mounts["/private"] = .init(username: "dj", password: "mountpw") }
            let global = try RawSocket(port: server.port)
            try global.send(requestHead("SOURCE /private HTTP/1.0", ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))"]))
            #expect(String(decoding: global.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.0 401 "))
            let own = try RawSocket(port: server.port)
            try own.send(requestHead("SOURCE /private HTTP/1.0", ["Authorization: \(basicAuthorization("dj", "mountpw"))"]))
            #expect(own.receive(exactly: 19) == ok)
            await server.stop()
        }

        @Test func busyMountAndSourceLimitGet403() async throws {
            let server = try await TestServer { $0.limits.sources = 2 }
            let first = try rawSource(port: server.port, mount: "/one")
            let busy = try RawSocket(port: server.port)
            try busy.send(requestHead("SOURCE /one HTTP/1.0", ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))"]))
            let busyReply = String(decoding: busy.receiveAll(), as: UTF8.self)
            #expect(busyReply.hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
            #expect(busyReply.hasSuffix("\r\n\r\nMountpoint in use"))

            let second = try rawSource(port: server.port, mount: "/two")
            let third = try RawSocket(port: server.port)
            try third.send(requestHead("SOURCE /three HTTP/1.0", ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))"]))
            #expect(String(decoding: third.receiveAll(), as: UTF8.self).hasSuffix("\r\n\r\ntoo many sources connected"))
            _ = (first, second)
            await server.stop()
        }

        @Test func audioInTheSamePacketAsTheHeadIsKept() async throws {
            let server = try await TestServer()
            let socket = try RawSocket(port: server.port)
            let head = requestHead(
                "SOURCE /same HTTP/1.1",
                ["Authorization: \(basicAuthorization("source", TestServer.sourcePassword))", "Content-Type: audio/mpeg"]
            )
            // ffmpeg's legacy mode: the head and the first audio in one write, without waiting for the reply.
            let firstAudio = Array(Fixture.mp3.prefix(40_000))
            try socket.send(Array(head.utf8) + firstAudio)
            #expect(socket.receive(exactly: 19) == ok)
            #expect(await server.waitUntil { server.isLive("/same") })
            // A listener arriving once the server has read that audio gets the burst, which must begin with the very
            // first frame sent.
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/same\"}", default: 0] >= 40_000 })
            let (listener, responseHead, rest) = try rawListener(port: server.port, mount: "/same")
            #expect(responseHead.hasPrefix("HTTP/1.0 200 OK"))
            var received = rest
            let deadline = Date().addingTimeInterval(5)
            while received.count < 30_000, Date() < deadline {
                received += (try? listener.receive()) ?? []
            }
            #expect(received.count >= 30_000)
            #expect(sameBytes(Array(received.prefix(30_000)), Array(firstAudio.prefix(30_000))))
            await server.stop()
        }

        /// A `PUT` body in chunks (curl reading the stream from a pipe): listeners get the audio, never the chunk
        /// framing; the last chunk ends the source. A malformed chunk ends the source before garbage is relayed.
        @Test func chunkedPutSourcesAreDecoded() async throws {
            let server = try await TestServer()
            let curl = try ExternalProcess(
                "curl",
                ["-s", "-T", "-", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: audio/mpeg",
                 "-u", "source:\(TestServer.sourcePassword)", "http://127.0.0.1:\(server.port)/chunked"],
                standardInput: true
            )
            let audio = Array(Fixture.mp3.prefix(120_000))
            try curl.write(Array(audio.prefix(40_000)))
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/chunked\"}", default: 0] >= 40_000 })
            let (listener, responseHead, rest) = try rawListener(port: server.port, mount: "/chunked")
            #expect(responseHead.hasPrefix("HTTP/1.0 200 OK"))
            try curl.write(Array(audio.dropFirst(40_000)))
            curl.closeInput()
            var received = rest
            let deadline = Date().addingTimeInterval(10)
            while received.count < 100_000, Date() < deadline {
                received += (try? listener.receive()) ?? []
            }
            #expect(received.count >= 100_000)
            #expect(sameBytes(Array(received.prefix(100_000)), Array(audio.prefix(100_000))), "the stream, without chunk lines")
            #expect(await server.waitUntil { !server.isLive("/chunked") }, "the last chunk ended the source")
            _ = await curl.finish(timeout: 10)

            // A malformed chunk: what came before it is relayed, and the source ends there.
            let raw = try RawSocket(port: server.port)
            try raw.send(requestHead("PUT /broken HTTP/1.1", [
                "Authorization: \(basicAuthorization("source", TestServer.sourcePassword))", "Content-Type: audio/mpeg",
                "Transfer-Encoding: chunked",
            ]))
            #expect(raw.receive(exactly: 19) == ok)
            let good = Array(audio.prefix(30_000))
            try raw.send(Array(String(good.count, radix: 16).utf8) + Array("\r\n".utf8) + good + Array("\r\n".utf8))
            #expect(await server.waitUntil { server.isLive("/broken") })
            try raw.send(Array("zz-not-a-size\r\n".utf8) + Array(audio.dropFirst(30_000).prefix(20_000)))
            #expect(await server.waitUntil { !server.isLive("/broken") }, "a malformed chunk ends the source")
            #expect(raw.isClosedByPeer(within: 5))
            await server.stop()
        }

        @Test func libshoutProbesGetRepliesThatKeepItOnPlainHTTP() async throws {
            let server = try await TestServer()
            // libshout 2.4's TLS "auto" probe.
            let options = try RawSocket(port: server.port)
            try options.send(requestHead("OPTIONS * HTTP/1.1", ["Host: 127.0.0.1", "User-Agent: libshout/2.4.6", "Connection: Upgrade", "Upgrade: TLS/1.0, HTTP/1.1"]))
            let optionsReply = String(decoding: options.receiveAll(), as: UTF8.self)
            #expect(optionsReply.hasPrefix("HTTP/1.0 204 "))
            #expect(!optionsReply.lowercased().contains("\r\nallow:"))
            // Its capability poke must get an HTTP reply, not EOF.
            let poke = try RawSocket(port: server.port)
            try poke.send(requestHead("GET /admin/!POKE HTTP/1.1", ["Host: 127.0.0.1"]))
            let pokeReply = String(decoding: poke.receiveAll(), as: UTF8.self)
            #expect(pokeReply.hasPrefix("HTTP/1.0 400 Bad Request\r\n"))
            #expect(pokeReply.contains("Unrecognised command"))
            await server.stop()
        }

        @Test func silentSourceIsDroppedAfterSourceTimeoutAndItsListenersAreClosed() async throws {
            let server = try await TestServer { $0.limits.sourceTimeout = 0.5 }
            let source = try rawSource(port: server.port, mount: "/quiet")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            let (listener, _, _) = try rawListener(port: server.port, mount: "/quiet")
            #expect(await server.waitUntil { server.listeners("/quiet") == 1 })
            // No more bytes: after 0.5 s the source is dropped and the listener's connection ends.
            #expect(await server.waitUntil(timeout: 5) { !server.isLive("/quiet") })
            #expect(listener.isClosedByPeer(within: 3))
            #expect(source.isClosedByPeer(within: 3))
            await server.stop()
        }
    }
}
