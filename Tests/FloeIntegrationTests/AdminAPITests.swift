import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// Icecast's admin and status API, as scripts and tools call it (curl here).
    @Suite("Admin and status API", .serialized)
    struct AdminAPITests {
        func curl(_ server: TestServer, _ path: String, user: String? = "admin", password: String = TestServer.adminPassword) async throws -> (code: String, body: String) {
            var arguments = ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(server.port)\(path)"]
            if let user { arguments += ["-u", "\(user):\(password)"] }
            let result = try await ExternalProcess.run("curl", arguments)
            let text = String(decoding: result.stdout, as: UTF8.self)
            let split = text.range(of: "\n", options: .backwards)!
            return (String(text[split.upperBound...]), String(text[..<split.lowerBound]))
        }

        func json(_ body: String) throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return try #require(object?["icestats"] as? [String: Any])
        }

        @Test func statusJSONHasIcecastsShapeForNoneOneAndSeveralMounts() async throws {
            let server = try await TestServer { $0.mounts["/secret"] = .init(hidden: true) }
            let none = try json(try await curl(server, "/status-json.xsl", user: nil).body)
            #expect(none["source"] == nil)
            #expect(none["server_id"] as? String == server.configuration.serverID)

            let first = try rawSource(port: server.port, mount: "/one", headers: ["ice-name: One", "ice-bitrate: 128"])
            try first.send(Array(Fixture.mp3.prefix(10_000)))
            let hidden = try rawSource(port: server.port, mount: "/secret")
            try hidden.send(Array(Fixture.mp3.prefix(10_000)))
            #expect(await server.waitUntil { server.isLive("/one") && server.isLive("/secret") })
            let one = try json(try await curl(server, "/status-json.xsl", user: nil).body)
            let source = try #require(one["source"] as? [String: Any], "one visible mount: an object")
            #expect(source["server_name"] as? String == "One")
            #expect(source["bitrate"] as? Int == 128, "numbers are JSON numbers")
            #expect((source["listenurl"] as? String)?.hasSuffix(":\(server.port)/one") == true)
            #expect(source.keys.contains("dummy"))

            let second = try rawSource(port: server.port, mount: "/two")
            try second.send(Array(Fixture.mp3.prefix(10_000)))
            #expect(await server.waitUntil { server.isLive("/two") })
            let two = try json(try await curl(server, "/status-json.xsl", user: nil).body)
            let sources = try #require(two["source"] as? [[String: Any]], "several mounts: an array")
            #expect(sources.compactMap { $0["listenurl"] as? String }.allSatisfy { !$0.hasSuffix("/secret") })
            #expect(sources.count == 2)
            _ = (first, hidden, second)
            await server.stop()
        }

        @Test func statsListmountsAndStreamlistNeedTheirCredentials() async throws {
            let server = try await TestServer { $0.authentication.relayPassword = "relaypw" }
            let source = try rawSource(port: server.port, mount: "/live", headers: ["ice-name: Live"])
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            let stats = try await curl(server, "/admin/stats")
            #expect(stats.code == "200")
            #expect(stats.body.contains("<source mount=\"/live\">") && stats.body.contains("<server_name>Live</server_name>"))
            #expect(try await curl(server, "/admin/stats", password: "wrong").code == "401")
            #expect(try await curl(server, "/admin/stats", user: "source", password: TestServer.sourcePassword).code == "401")
            let mounts = try await curl(server, "/admin/listmounts")
            #expect(mounts.body.contains("<source mount=\"/live\"><fallback></fallback><listeners>0</listeners>"))
            let list = try await curl(server, "/admin/streamlist.txt", user: "relay", password: "relaypw")
            #expect(list.code == "200" && list.body == "/live\r\n")
            #expect(try await curl(server, "/admin/streamlist.txt").code == "401", "relay credentials, not admin")
            _ = source
            await server.stop()
        }

        @Test func listKillAndMoveClientsAndKillTheSource() async throws {
            let server = try await TestServer()
            let a = try rawSource(port: server.port, mount: "/a")
            let b = try rawSource(port: server.port, mount: "/b")
            let feedA = streamUntilCancelled(a)
            let feedB = streamUntilCancelled(b, Fixture.otherMP3)
            let (first, _, _) = try rawListener(port: server.port, mount: "/a", headers: ["User-Agent: FirstPlayer/1.0"])
            let (second, _, _) = try rawListener(port: server.port, mount: "/a", headers: ["User-Agent: Second <b>"])
            #expect(await server.waitUntil { server.listeners("/a") == 2 })

            let clients = try await curl(server, "/admin/listclients?mount=/a", user: "source", password: TestServer.sourcePassword)
            #expect(clients.body.contains("<Listeners>2</Listeners>"))
            #expect(clients.body.contains("<UserAgent>FirstPlayer/1.0</UserAgent>"))
            #expect(clients.body.contains("<UserAgent>Second &lt;b&gt;</UserAgent>"), "escaped")
            let ids = clients.body.components(separatedBy: "<ID>").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
            #expect(ids.count == 2)

            let missing = try await curl(server, "/admin/killclient?mount=/a&id=999999")
            #expect(missing.body.contains("<message>Client 999999 not found</message><return>0</return>"))
            let killed = try await curl(server, "/admin/killclient?mount=/a&id=\(ids[0])")
            #expect(killed.body.contains("<message>Client \(ids[0]) removed</message><return>1</return>"))
            #expect(first.isClosedByPeer(within: 3))

            let moved = try await curl(server, "/admin/moveclients?mount=/a&destination=/b")
            #expect(moved.body.contains("Clients moved from /a to /b"))
            #expect(await server.waitUntil { server.listeners("/b") == 1 && server.listeners("/a") == 0 })
            #expect(try await curl(server, "/admin/moveclients?mount=/b&destination=/nowhere").body.contains("No such destination"))

            let removed = try await curl(server, "/admin/killsource?mount=/a")
            #expect(removed.body.contains("<message>Source Removed</message><return>1</return>"))
            #expect(await server.waitUntil { !server.isLive("/a") })
            let gone = try await curl(server, "/admin/listclients?mount=/a")
            #expect(gone.code == "400" && gone.body.contains("Source does not exist"))
            feedA.cancel()
            feedB.cancel()
            _ = second
            await server.stop()
        }

        @Test func jsonVariantsCarryTheFrameClocksFigures() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/measured")
            try source.send(Array("junk".utf8))
            try await sendPaced(source, Array(Fixture.mp3.prefix(64_000)), chunk: 8192, pause: .milliseconds(10))
            #expect(await server.waitUntil { server.isLive("/measured") })
            // The frame clock's figures reach the stats with the blocks the server publishes: read them until they
            // are there (a bitrate, and most of the frames sent), then check them.
            let measuredInTime = try await eventually {
                let listed = try json(try await curl(server, "/admin/stats.json").body)["sources"] as? [[String: Any]]
                let figures = listed?.first { $0["mount"] as? String == "/measured" }
                return figures?["floe_measured_bitrate"] != nil && (figures?["floe_frames"] as? Int ?? 0) > 100
            }
            #expect(measuredInTime, "the frame clock's figures in /admin/stats.json")
            let stats = try await curl(server, "/admin/stats.json")
            let root = try json(stats.body)
            let sources = try #require(root["sources"] as? [[String: Any]])
            let measured = try #require(sources.first { $0["mount"] as? String == "/measured" })
            let bitrate = try #require(measured["floe_measured_bitrate"] as? Int)
            #expect(abs(bitrate - 128_000) < 2_000, "the frame clock's bitrate: \(bitrate)")
            #expect(measured["floe_garbage_bytes"] as? Int == 4)
            #expect(measured["floe_codec"] as? String == "MPEG-1 Layer III")
            #expect((measured["floe_frames"] as? Int ?? 0) > 100)
            #expect(measured["floe_pace"] as? String == "fast", "64 KB in a fraction of a second is faster than real time")

            let viaAccept = try await ExternalProcess.run(
                "curl", ["-s", "-H", "Accept: application/json", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/measured&mode=updinfo&song=J"])
            #expect(String(decoding: viaAccept.stdout, as: UTF8.self) == "{\"message\":\"Metadata update successful\",\"return\":1}")
            #expect(try await curl(server, "/admin/updatemetadata.json?mount=/measured").body == "{\"mount\":\"/measured\"}")
            #expect(try await curl(server, "/admin/fallbacks.json?mount=/measured&fallback=/x").body.contains("\"return\":1"))
            let clients = try await curl(server, "/admin/listclients.json?mount=/measured")
            // Encoded by JSONEncoder with sorted keys: compared as a document, not as a key order.
            let clientList = try JSONSerialization.jsonObject(with: Data(clients.body.utf8)) as? [String: Any]
            #expect(clientList?.count == 2 && clientList?["mount"] as? String == "/measured")
            #expect((clientList?["listeners"] as? [Any])?.isEmpty == true, "\(clients.body)")
            _ = source
            await server.stop()
        }

        /// Whatever a source or listener sends (markup in a mount name; control characters in a stream name, title
        /// or user agent: a mount name with one is refused at login), every XML document parses with a real XML parser and every JSON document with a real JSON parser.
        @Test func everyDocumentParsesWhateverSourcesAndListenersSent() async throws {
            let server = try await TestServer()
            let mount = "/bad%3C%26%22mount%27"
            let source = try rawSource(
                port: server.port,
                mount: mount,
                headers: [
                    "ice-name: Name\u{02}with\u{1f}controls", "ice-description: tab\tand\u{0b}vt", "User-Agent: src\u{7f}\u{01}",
                    // Audio-info keys become statistics: not under names XML cannot carry, nor in place of Floe's own.
                    "ice-audio-info: a b=1;<x>=2;listeners=999;floe_frames=7;ice-samplerate=44100",
                ]
            )
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            #expect(await server.waitUntil { server.isLive("/bad<&\"mount'") })
            let (listener, _, _) = try rawListener(port: server.port, mount: mount, headers: ["User-Agent: ua\u{03}\u{1b}[31m"])
            #expect(await server.waitUntil { server.listeners("/bad<&\"mount'") == 1 })
            let query = "mount=%2Fbad%3C%26%22mount%27"
            let title = try await curl(server, "/admin/metadata?\(query)&mode=updinfo&song=T%01i%00t%1Bl%0Ae%EF%BF%BE")
            #expect(title.body.contains("Metadata update successful"))

            func parsesAsXML(_ document: String) async throws -> Bool {
                let check = "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())"
                let process = try ExternalProcess("python3", ["-c", check], standardInput: true)
                try process.write(Array(document.utf8))
                process.closeInput()
                return await process.finish(timeout: 20).status == 0
            }
            for path in ["/admin/stats", "/admin/stats.xml", "/admin/listmounts", "/admin/listclients?\(query)", "/admin/updatemetadata?\(query)"] {
                let reply = try await curl(server, path)
                #expect(reply.code == "200", "\(path)")
                #expect(try await parsesAsXML(reply.body), "\(path) is well-formed XML: \(reply.body)")
            }
            for path in ["/admin/stats.json", "/admin/listmounts.json", "/admin/listclients.json?\(query)", "/status-json.xsl"] {
                let reply = try await curl(server, path, user: path.hasPrefix("/admin") ? "admin" : nil)
                #expect((try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) != nil, "\(path) parses as JSON: \(reply.body)")
            }
            let stats = try json(try await curl(server, "/admin/stats.json").body)
            let status = try #require((stats["sources"] as? [[String: Any]])?.first)
            #expect(status["listeners"] as? Int == 1, "the real listener count, not the source's: \(status)")
            #expect((status["floe_frames"] as? Int ?? 0) > 7)
            #expect(status["samplerate"] as? Int == 44_100, "a plain audio-info key is still shown")
            _ = (source, listener)
            await server.stop()
        }

        /// Mounts a source invented and left go away with their `/metrics` series: one source password cannot grow
        /// the server without bound. A configured mount keeps its series.
        @Test func madeUpMountsAreRetiredWithTheirMetrics() async throws {
            let server = try await TestServer { $0.mounts["/kept"] = .init() }
            for index in 0..<40 {
                let source = try rawSource(port: server.port, mount: "/made-up-\(index)")
                try source.send(Array(Fixture.mp3.prefix(2_000)))
                #expect(await server.waitUntil { server.isLive("/made-up-\(index)") })
                source.shutdownWrite()
            }
            let kept = try rawSource(port: server.port, mount: "/kept")
            try kept.send(Array(Fixture.mp3.prefix(2_000)))
            #expect(await server.waitUntil { server.isLive("/kept") })
            kept.shutdownWrite()
            #expect(await server.waitUntil(timeout: 20) { (0..<40).allSatisfy { server.server.mountState("/made-up-\($0)") == nil } })
            let metrics = try await curl(server, "/metrics", user: nil).body
            #expect(!metrics.contains("made-up"), "no series of retired mounts")
            #expect(metrics.contains("floe_source_connects_total{mount=\"/kept\"} 1"), "a configured mount keeps its series")
            #expect(server.server.mountState("/kept") != nil)
            await server.stop()
        }

        /// `metrics-access`: admin credentials, or anyone; the default serves clients on this machine and admins.
        @Test func metricsAccessIsConfigurable() async throws {
            let admin = try await TestServer { $0.metricsAccess = .admin }
            #expect(try await curl(admin, "/metrics", user: nil).code == "401")
            #expect(try await curl(admin, "/metrics", password: "wrong").code == "401")
            #expect(try await curl(admin, "/metrics").code == "200")
            await admin.stop()
            let open = try await TestServer { $0.metricsAccess = .public }
            #expect(try await curl(open, "/metrics", user: nil).code == "200")
            await open.stop()
            let local = try await TestServer()
            #expect(try await curl(local, "/metrics", user: nil).code == "200", "loopback clients may read it by default")
            await local.stop()
        }

        /// `source-credentials: metadata-only`: a source password updates titles and nothing else.
        @Test func sourceCredentialsCanBeLimitedToTitles() async throws {
            let server = try await TestServer { $0.sourceCredentials = .metadataOnly }
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            #expect(await server.waitUntil { server.isLive("/live") })
            let user = "source"
            let password = TestServer.sourcePassword
            #expect(try await curl(server, "/admin/metadata?mount=/live&mode=updinfo&song=DJ", user: user, password: password).code == "200")
            #expect(server.server.mountState("/live")?.metadata.title == "DJ")
            #expect(try await curl(server, "/admin/updatemetadata?mount=/live", user: user, password: password).code == "200")
            for command in ["listclients", "killclient?id=1", "moveclients?destination=/x", "fallbacks?fallback=/x", "manageauth", "killsource"] {
                let separator = command.contains("?") ? "&" : "?"
                #expect(try await curl(server, "/admin/\(command)\(separator)mount=/live", user: user, password: password).code == "401", "\(command)")
            }
            #expect(server.isLive("/live"))
            #expect(try await curl(server, "/admin/killsource?mount=/live").code == "200", "the admin still may")
            await server.stop()
        }

        @Test func fallbacksBuildm3uAndManageauth() async throws {
            let directory = try TemporaryDirectory()
            try "".write(toFile: directory.path("users"), atomically: true, encoding: .utf8)
            let server = try await TestServer {
                $0.mounts["/members"] = .init(listenerAuthentication: .htpasswd(.init(filename: directory.path("users"))))
            }
            let members = try rawSource(port: server.port, mount: "/members")
            let backup = try rawSource(port: server.port, mount: "/backup")
            try members.send(Array(Fixture.mp3.prefix(10_000)))
            try backup.send(Array(Fixture.otherMP3.prefix(10_000)))
            #expect(await server.waitUntil { server.isLive("/members") && server.isLive("/backup") })

            let added = try await curl(server, "/admin/manageauth?mount=/members&action=add&username=bob&password=pw")
            #expect(added.body.contains("<User><username>bob</username></User>") && added.body.contains("User added"))
            let again = try await curl(server, "/admin/manageauth?mount=/members&action=add&username=bob&password=pw")
            #expect(again.body.contains("User already exists - not added"))
            let socket = try RawSocket(port: server.port)
            try socket.send(requestHead("GET /members HTTP/1.0", ["Authorization: \(basicAuthorization("bob", "pw"))"]))
            #expect(try socket.receiveHead().head.hasPrefix("HTTP/1.0 200 OK"), "the added user can listen")
            let deleted = try await curl(server, "/admin/manageauth?mount=/members&action=delete&username=bob")
            #expect(deleted.body.contains("User deleted") && !deleted.body.contains("<username>bob</username>"))
            // A user name is one line of the file: a line break in it would add another user (found by a probe).
            // Every Unicode line break counts: with U+2028 or U+0085 a name replaced an existing user's password.
            for name in ["a%0Aevil", "z%E2%80%A8evil", "z%C2%85evil", "z%E2%80%A9evil", "z%C2%9Bevil"] {
                let injected = try await curl(server, "/admin/manageauth?mount=/members&action=add&username=\(name)&password=pw")
                #expect(injected.code == "400", "\(name)")
            }
            #expect(try !String(contentsOfFile: directory.path("users"), encoding: .utf8).contains("evil"))

            // A fallback to itself, or one closing a loop, is refused as check-config refuses it.
            let itself = try await curl(server, "/admin/fallbacks?mount=/members&fallback=/members")
            #expect(itself.code == "400" && itself.body.contains("cannot fall back to itself"), "\(itself)")
            #expect(try await curl(server, "/admin/fallbacks?mount=/backup&fallback=/members").body.contains("Fallback configured"))
            let loop = try await curl(server, "/admin/fallbacks?mount=/members&fallback=/backup")
            #expect(loop.code == "400" && loop.body.contains("fallback loop"), "\(loop)")
            #expect(try await curl(server, "/admin/fallbacks?mount=/backup&fallback=").body.contains("Fallback configured"))
            let fallback = try await curl(server, "/admin/fallbacks?mount=/members&fallback=/backup")
            #expect(fallback.body.contains("<p>Fallback configured</p>"))
            members.shutdownWrite()
            #expect(await server.waitUntil { server.listeners("/backup") == 1 }, "bob's connection moved to the new fallback")

            let m3u = try await curl(server, "/admin/buildm3u?mount=/members&username=u&password=p", user: nil)
            #expect(m3u.body == "http://u:p@127.0.0.1:\(server.port)/members\r\n")
            _ = (socket, backup)
            await server.stop()
        }

        /// A fallback the admin set on a mount the file does not name lapses at a reload; the source stays (it was
        /// ended as if the file had removed the mount; found by a probe).
        @Test func aReloadKeepsTheSourceOfAMountTheAdminGaveAFallback() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/adhoc")
            let streaming = streamUntilCancelled(source)
            #expect(await server.waitUntil { server.isLive("/adhoc") })
            #expect(try await curl(server, "/admin/fallbacks?mount=/adhoc&fallback=/elsewhere").body.contains("Fallback configured"))
            server.server.reload(server.configuration)
            try await Task.sleep(for: .milliseconds(500))
            #expect(server.isLive("/adhoc"), "the reload ended the source")
            streaming.cancel()
            await server.stop()
        }

        @Test func prometheusMetricsCountListenersSourcesAndBytes() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/metered")
            let (first, _, _) = try rawListener(port: server.port, mount: "/metered")
            let (second, _, _) = try rawListener(port: server.port, mount: "/metered")
            try await sendPaced(source, Array(Fixture.mp3.prefix(50_000)), chunk: 8192, pause: .milliseconds(10))
            // The counters follow the stream through the server (read, published in blocks, written to listeners):
            // wait until all of it has gone through, then check every figure.
            let throughInTime = try await eventually {
                let values = try await prometheusMetrics(port: server.port)
                return values["floe_bytes_in_total{mount=\"/metered\"}", default: 0] >= 50_000
                    && values["floe_bytes_out_total{mount=\"/metered\"}", default: 0] >= 2 * 40_000
                    && values["floe_frames_total{mount=\"/metered\"}", default: 0] >= 95
            }
            #expect(throughInTime, "the stream went through the server")
            let metrics = try await curl(server, "/metrics", user: nil)
            #expect(metrics.code == "200")
            let lines = metrics.body.split(separator: "\n").map(String.init)
            func value(_ prefix: String) -> Double? {
                lines.first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(value("floe_listeners{mount=\"/metered\"}") == 2)
            #expect(value("floe_sources") == 1)
            #expect(value("floe_source_connects_total{mount=\"/metered\"}") == 1)
            #expect(value("floe_bytes_in_total{mount=\"/metered\"}") == 50_000)
            #expect((value("floe_bytes_out_total{mount=\"/metered\"}") ?? 0) >= 2 * 40_000, "both listeners were sent the stream")
            #expect((value("floe_frames_total{mount=\"/metered\"}") ?? 0) >= 95, "frames of the blocks published so far (19 per half-second block)")
            _ = (first, second)
            await server.stop()
        }

        @Test func statusPageShowsVisibleMountsWithTitlesAsText() async throws {
            let server = try await TestServer { $0.mounts["/secret"] = .init(hidden: true) }
            let source = try rawSource(port: server.port, mount: "/page", headers: ["ice-name: Page <i>Name</i>"])
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            let hidden = try rawSource(port: server.port, mount: "/secret")
            try hidden.send(Array(Fixture.mp3.prefix(10_000)))
            _ = try await curl(server, "/admin/metadata?mount=/page&mode=updinfo&song=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
            let page = try await curl(server, "/status.xsl", user: nil)
            #expect(page.code == "200")
            #expect(page.body.contains("Mount Point /page"))
            #expect(page.body.contains("Page &lt;i&gt;Name&lt;/i&gt;"))
            #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.body.contains("<script>"))
            #expect(!page.body.contains("/secret"))
            _ = (source, hidden)
            await server.stop()
        }

        @Test func everyCommandChecksCredentialsAndMountsWithoutSource() async throws {
            let server = try await TestServer { $0.authentication.relayPassword = "relaypw" }
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            let other = try rawSource(port: server.port, mount: "/other")
            try other.send(Array(Fixture.mp3.prefix(10_000)))
            let source2 = ("source", TestServer.sourcePassword)
            // Mount commands: admin or that mount's source credentials; 400 without a source.
            let mountCommands = [
                "metadata?mode=updinfo&song=x", "listclients", "killclient?id=1", "moveclients?destination=/other",
                "fallbacks?fallback=/other", "updatemetadata", "manageauth?action=list", "killsource",
            ]
            for command in mountCommands {
                let separator = command.contains("?") ? "&" : "?"
                let onLive = "/admin/\(command)\(separator)mount=/live"
                let onIdle = "/admin/\(command)\(separator)mount=/idle"
                #expect(try await curl(server, onLive, password: "wrong").code == "401", "\(command) with a wrong password")
                #expect(try await curl(server, onLive, user: nil).code == "401", "\(command) without credentials")
                let idle = try await curl(server, onIdle)
                #expect(idle.code == "400" && idle.body.contains("Source does not exist"), "\(command) on a mount without source")
                if command != "killsource" {
                    #expect(try await curl(server, onLive, user: source2.0, password: source2.1).code == "200", "\(command) as the source")
                }
            }
            #expect(try await curl(server, "/admin/killsource?mount=/live", user: source2.0, password: source2.1).code == "200")
            // General commands: admin only.
            for command in ["stats", "listmounts", "config", "history", "token"] {
                #expect(try await curl(server, "/admin/\(command)").code == "200", "\(command)")
                #expect(try await curl(server, "/admin/\(command)", user: source2.0, password: source2.1).code == "401", "\(command)")
                #expect(try await curl(server, "/admin/\(command)", password: "wrong").code == "401", "\(command)")
            }
            #expect(try await curl(server, "/admin/streamlist.txt", user: "relay", password: "relaypw").code == "200")
            #expect(try await curl(server, "/admin/streamlist.txt", user: "relay", password: "wrong").code == "401")
            #expect(try await curl(server, "/admin/buildm3u?mount=/live", user: nil).code == "200", "buildm3u needs none")
            #expect(try await curl(server, "/admin/nonsense").body.contains("Unrecognised command"))
            _ = other
            await server.stop()
        }

        @Test func playlistsPointAtTheMount() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/live", headers: ["ice-name: Playlist Test"])
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            let m3u = try await curl(server, "/live.m3u", user: nil)
            #expect(m3u.body == "http://127.0.0.1:\(server.port)/live\r\n")
            let pls = try await curl(server, "/live.pls", user: nil)
            #expect(pls.body.contains("File1=http://127.0.0.1:\(server.port)/live") && pls.body.contains("Title1=Playlist Test"))
            let xspf = try await curl(server, "/live.xspf", user: nil)
            #expect(xspf.body.contains("<location>http://127.0.0.1:\(server.port)/live</location>"))
            #expect(try await curl(server, "/none.xspf", user: nil).code == "404")

            // A Host header that is not a host is not reflected into any playlist: the configured host is used.
            for playlist in ["/live.m3u", "/live.pls", "/live.vclt", "/live.xspf", "/admin/buildm3u?mount=/live"] {
                let forged = try RawSocket(port: server.port)
                try forged.send(requestHead("GET \(playlist) HTTP/1.0", ["Host: evil.example\"><script>alert(1)</script>"]))
                let reply = String(decoding: forged.receiveAll(), as: UTF8.self)
                #expect(reply.hasPrefix("HTTP/1.0 200 OK") && !reply.contains("evil.example") && !reply.contains("<script>"), "\(playlist): \(reply)")
                #expect(reply.contains("\(server.configuration.hostname):\(server.port)/live"), "\(playlist)")
            }
            // Nor is a line break in the path or query: any path gets a playlist, and it stays one entry.
            let injected = [
                "/radio%0D%0Ahttp://elsewhere.example/ad.mp3%0D%0A%23.m3u", "/radio%0AFile2=http://elsewhere.example/x.pls",
                "/admin/buildm3u?mount=/live%0D%0Ahttp://elsewhere.example/&username=a%0Ab&password=c%0Dd",
            ]
            for playlist in injected {
                let reply = try await curl(server, playlist, user: nil)
                let entries = reply.body.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("http") || $0.hasPrefix("File") }
                #expect(reply.code == "200" && entries.count == 1 && !entries[0].contains(" "), "\(playlist): \(reply.body)")
                #expect(entries.first?.contains("%0D%0A") == true || entries.first?.contains("%0A") == true, "\(reply.body)")
            }
            let spaced = try await curl(server, "/my%20stream.m3u", user: nil)
            #expect(spaced.body == "http://127.0.0.1:\(server.port)/my%20stream\r\n", "a URL has no space")
            _ = source
            await server.stop()
        }
    }
}
