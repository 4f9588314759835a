import FloeCore
import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// The public status page in a real browser (headless Chromium).
    @Suite("Web pages", .serialized)
    struct WebPageTests {
        /// The repository's `web/` directory.
        static let webroot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("web").path

        /// Where screenshots are kept for people to look at.
        static let artifacts = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/test-artifacts").path

        func chromium(_ arguments: [String]) async throws -> ExternalProcess.Result {
            try await ExternalProcess.run(
                "chromium",
                ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=5000"]
                    + arguments,
                timeout: 60
            )
        }

        @Test func statusPageShowsMountsListenersAndTitlesAsText() async throws {
            let server = try await TestServer { $0.paths.webroot = Self.webroot }
            let source = try rawSource(
                port: server.port,
                mount: "/live",
                headers: ["ice-name: Floe Test Radio", "ice-description: Sine waves, all day", "ice-bitrate: 128"]
            )
            let feeder = streamUntilCancelled(source)
            let (first, _, _) = try rawListener(port: server.port, mount: "/live")
            let (second, _, _) = try rawListener(port: server.port, mount: "/live")
            #expect(await server.waitUntil { server.listeners("/live") == 2 })
            let admin = try RawSocket(port: server.port)
            try admin.send(
                requestHead(
                    "GET /admin/metadata?mount=/live&mode=updinfo&song=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%3Cscript%3Ewindow.hacked%3D1%3C%2Fscript%3E HTTP/1.0",
                    ["Authorization: \(basicAuthorization("admin", TestServer.adminPassword))"]
                )
            )
            #expect(String(decoding: admin.receiveAll(), as: UTF8.self).contains("Metadata update successful"))

            let url = "http://127.0.0.1:\(server.port)/"
            let dom = String(decoding: try await chromium(["--dump-dom", url]).stdout, as: UTF8.self)
            #expect(dom.contains("Floe Test Radio"))
            #expect(dom.contains("Sine waves, all day"))
            #expect(dom.contains("<dd class=\"listeners\">2</dd>"), "listener count: \(dom)")
            #expect(dom.contains("128 kbit/s"))
            #expect(dom.contains("&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;window.hacked=1&lt;/script&gt;"), "the title is text")
            #expect(!dom.contains("<img src=\"x\"") && !dom.contains("<script>window.hacked"))

            try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
            let screenshot = Self.artifacts + "/status-page.png"
            _ = try await chromium(["--window-size=1000,700", "--screenshot=\(screenshot)", url])
            #expect(FileManager.default.fileExists(atPath: screenshot))
            feeder.cancel()
            _ = (first, second)
            await server.stop()
        }
    
        @Test func aTitleUpdateAndAListenerLeavingShowWithoutAReload() async throws {
            let server = try await TestServer { $0.paths.webroot = Self.webroot }
            let source = try rawSource(port: server.port, mount: "/live", headers: ["ice-name: Live Page"])
            let feeder = streamUntilCancelled(source)
            let (listener, _, _) = try rawListener(port: server.port, mount: "/live")
            #expect(await server.waitUntil { server.listeners("/live") == 1 })
            let browser = try await HeadlessChromium(url: "http://127.0.0.1:\(server.port)/")
            let listeners = "document.querySelector('.listeners')?.textContent ?? ''"
            #expect(try await browser.wait(for: listeners, toBe: "1") == "1")
            // Mark the page, so a reload would show.
            _ = try await browser.evaluate("window.floeTestMark = 'still here'")

            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/live&mode=updinfo&song=Fresh%20Title"])
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            let title = "document.querySelector('.title')?.textContent ?? ''"
            #expect(try await browser.wait(for: title, toBe: "Fresh Title") == "Fresh Title")
            // The source declared no bitrate: the page shows the one Floe measured (the fixture is 128 kbit/s).
            let bitrate = "document.querySelector('.bitrate')?.textContent ?? ''"
            #expect(try await browser.wait(for: bitrate, toBe: "128 kbit/s") == "128 kbit/s")
            listener.shutdownWrite()
            #expect(try await browser.wait(for: listeners, toBe: "0") == "0")
            #expect(try await browser.evaluate("window.floeTestMark ?? ''") == "still here", "no reload happened")
            feeder.cancel()
            await server.stop()
        }
    
        @Test func adminPageListsListenersKicksOneAndUpdatesTheTitle() async throws {
            let rtpReceiver = try UDPReceiver()
            let server = try await TestServer {
                $0.paths.webroot = Self.webroot
                $0.mounts["/a"] = MountConfiguration(outputs: [
                    SpeakerOutputConfiguration(name: "studio_rtp", kind: .rtp(RTPOutput(mode: .mpa, address: "127.0.0.1", port: rtpReceiver.port))),
                ])
                $0.mounts["/idle"] = MountConfiguration(outputs: [
                    SpeakerOutputConfiguration(name: "wav", kind: .playback(PlaybackOutput(driver: "wav", device: "/dev/null"))),
                ])
            }
            let a = try rawSource(port: server.port, mount: "/a", headers: ["ice-name: Mount A", "ice-bitrate: 128"])
            let b = try rawSource(port: server.port, mount: "/b")
            let feedA = streamUntilCancelled(a)
            let feedB = streamUntilCancelled(b, Fixture.otherMP3)
            let (kicked, _, _) = try rawListener(port: server.port, mount: "/a", headers: ["User-Agent: <img src=x onerror=alert(1)>"])
            let (stays, _, _) = try rawListener(port: server.port, mount: "/a", headers: ["User-Agent: StaysPlayer"])
            #expect(await server.waitUntil { server.listeners("/a") == 2 })

            // Opened the way people open it: credentials in the URL. Its API calls must still work (fetch refuses
            // URLs resolved against a base that carries credentials).
            let browser = try await HeadlessChromium(url: "about:blank")
            try await browser.open("http://admin:\(TestServer.adminPassword)@127.0.0.1:\(server.port)/admin/")
            let rows = "String(document.querySelectorAll('#sources tbody tr').length)"
            #expect(try await browser.wait(for: rows, toBe: "2") == "2")
            let listenerRows = "String(document.querySelectorAll('article[data-mount=\"/a\"] .listeners tbody tr').length)"
            #expect(try await browser.wait(for: listenerRows, toBe: "2") == "2")
            let agents = try await browser.evaluate("document.querySelector('article[data-mount=\"/a\"] .listeners').textContent")
            #expect(agents.contains("<img src=x onerror=alert(1)>") && agents.contains("StaysPlayer"), "user agents shown as text")
            #expect(try await browser.evaluate("String(document.querySelectorAll('#mounts img').length)") == "0")
            #expect(try await browser.evaluate("document.getElementById('config').textContent").contains("\"limits\""))
            // The outputs: /a's RTP output playing /a, and /idle's, whose mount has no source, waiting.
            let output = "(document.querySelector('#outputs tr[data-output=\"/a studio_rtp\"]') || {}).textContent || ''"
            #expect(try await browser.wait(for: "(\(output)).includes('playing') ? 'playing' : ''", toBe: "playing") == "playing")
            let outputRow = try await browser.evaluate(output)
            #expect(outputRow.contains("rtp mpa") && outputRow.contains("127.0.0.1:\(rtpReceiver.port)"), "\(outputRow)")
            let idle = try await browser.evaluate("(document.querySelector('#outputs tr[data-output=\"/idle wav\"]') || {}).textContent || ''")
            #expect(idle.contains("playback wav") && idle.contains("idle"), "\(idle)")
            try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
            try await browser.screenshot(to: Self.artifacts + "/admin-page.png")

            // Kick the listener with the odd user agent from the page.
            _ = try await browser.evaluate(
                "[...document.querySelectorAll('article[data-mount=\"/a\"] .listeners tbody tr')]"
                    + ".find(r => r.textContent.includes('onerror')).querySelector('button').click()"
            )
            #expect(kicked.isClosedByPeer(within: 5), "kicking from the page disconnects the listener")
            #expect(await server.waitUntil { server.listeners("/a") == 1 })

            // Update the title from the page.
            _ = try await browser.evaluate(
                "(() => { const f = document.querySelector('article[data-mount=\"/a\"] .title-form');"
                    + " f.song.value = 'From the admin page'; f.requestSubmit(); return 'ok' })()"
            )
            #expect(await server.waitUntil { server.server.mountState("/a")?.metadata.title == "From the admin page" })
            feedA.cancel()
            feedB.cancel()
            _ = stays
            await server.stop()
        }

        @Test func crossSiteAdminCommandsNeedTheToken() async throws {
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/live")
            try source.send(Array(Fixture.mp3.prefix(10_000)))
            func kill(_ extra: [String]) async throws -> String {
                let result = try await ExternalProcess.run(
                    "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:\(TestServer.adminPassword)"]
                        + extra + ["http://127.0.0.1:\(server.port)/admin/killsource?mount=/live"])
                return String(decoding: result.stdout, as: UTF8.self)
            }
            #expect(try await kill(["-H", "Sec-Fetch-Site: cross-site"]) == "403", "a page on another site cannot do it")
            #expect(server.isLive("/live"))
            // Browsers that send no Sec-Fetch-Site: Origin, or without it Referer, names the site.
            let here = "http://127.0.0.1:\(server.port)"
            #expect(try await kill(["-H", "Origin: http://evil.example"]) == "403", "a cross-site Origin")
            #expect(try await kill(["-H", "Origin: http://127.0.0.1:1"]) == "403", "another port is another site")
            #expect(try await kill(["-H", "Origin: null"]) == "403", "an opaque origin")
            #expect(try await kill(["-H", "Referer: http://evil.example/page"]) == "403", "a cross-site Referer")
            #expect(server.isLive("/live"))
            func title(_ extra: [String]) async throws -> String {
                let result = try await ExternalProcess.run(
                    "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:\(TestServer.adminPassword)"]
                        + extra + ["\(here)/admin/metadata?mount=/live&mode=updinfo&song=x"])
                return String(decoding: result.stdout, as: UTF8.self)
            }
            #expect(try await title(["-H", "Origin: \(here)"]) == "200", "the admin page's own origin")
            #expect(try await title(["-H", "Referer: \(here)/admin/"]) == "200", "the admin page's own address")
            let tokenReply = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "\(here)/admin/token"])
            let token = String(String(decoding: tokenReply.stdout, as: UTF8.self).split(separator: "\"")[3])
            #expect(try await title(["-H", "Origin: http://evil.example", "-G", "--data-urlencode", "token=\(token)"]) == "200",
                    "with the admin token")
            #expect(try await kill([]) == "200", "tools without browser headers work as with Icecast")
            #expect(await server.waitUntil { !server.isLive("/live") })
            await server.stop()
        }
    }
}
