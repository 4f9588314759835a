import FloeCore
import FloeServer
import FloeTestSupport
import Foundation
import Testing

/// Floe behind a real nginx reverse proxy (Debian's package). Clients connect from other loopback addresses
/// (127.0.0.2 and up, all on `lo`), so the proxy's address (127.0.0.1) and the clients' differ.
@Suite("Behind a reverse proxy", .serialized)
struct ProxyTests {
    /// A listener started with curl from the loopback address `from`; it ends when the test terminates it (with
    /// signals unblocked: the test thread's mask would otherwise keep SIGTERM from curl).
    private func listener(from address: String, url: String, headers: [String] = []) throws -> ExternalProcess {
        try ExternalProcess("curl", ["-s", "-o", "/dev/null", "--interface", address] + headers.flatMap { ["-H", $0] } + [url], unblockingSignals: true)
    }

    /// The status a listener request from `address` gets (the first second of it).
    private func status(from address: String, url: String) async throws -> String {
        let result = try await ExternalProcess.run(
            "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "--interface", address, url]
        )
        return String(decoding: result.stdout, as: UTF8.self)
    }

    private func listClients(_ server: TestServer, mount: String) async throws -> String {
        let result = try await ExternalProcess.run(
            "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/listclients?mount=\(mount)"]
        )
        return String(decoding: result.stdout, as: UTF8.self)
    }

    @Test func listclientsAndTheAccessLogShowTheClientBehindNginxAndNotWhatOthersClaim() async throws {
        let directory = try TemporaryDirectory()
        let accessLogPath = directory.path("access.log")
        let server = try await TestServer(accessLog: AccessLog(file: try LogFile(.file(accessLogPath)))) {
            $0.trustedProxies = AddressList([AddressPattern("127.0.0.1")!])
        }
        let nginx = try await NginxServer(proxyingTo: server.port)
        let feed = streamUntilCancelled(try rawSource(port: server.port, mount: "/live"))
        #expect(await server.waitUntil { server.isLive("/live") })

        // nginx passes a client's own Forwarded header on: it must not count.
        let proxied = try listener(from: "127.0.0.2", url: "http://127.0.0.1:\(nginx.port)/live", headers: ["Forwarded: for=198.51.100.7"])
        // Not a trusted proxy: what it says about itself is ignored.
        let claiming = try listener(
            from: "127.0.0.3",
            url: "http://127.0.0.1:\(server.port)/live",
            headers: ["X-Forwarded-For: 203.0.113.9", "Forwarded: for=198.51.100.1"]
        )
        #expect(await server.waitUntil { server.listeners("/live") == 2 })
        let clients = try await listClients(server, mount: "/live")
        #expect(clients.contains("<IP>127.0.0.2</IP>"), "the client behind nginx")
        #expect(clients.contains("<IP>127.0.0.3</IP>"), "the direct client, as its socket says")
        #expect(!clients.contains("<IP>127.0.0.1</IP>"), "nginx itself is not listed")
        #expect(!clients.contains("203.0.113.9") && !clients.contains("198.51.100.1") && !clients.contains("198.51.100.7"))

        proxied.terminate()
        claiming.terminate()
        #expect(await server.waitUntil { server.listeners("/live") == 0 })
        let logged = await eventually {
            let log = (try? String(contentsOfFile: accessLogPath, encoding: .utf8)) ?? ""
            return log.contains("127.0.0.2 - - [") && log.contains("127.0.0.3 - - [")
        }
        #expect(logged, "access log: \((try? String(contentsOfFile: accessLogPath, encoding: .utf8)) ?? "")")
        feed.cancel()
        withExtendedLifetime(nginx) {}
        await server.stop()
    }

    @Test func perAddressLimitsAndBansApplyToTheClientBehindTheProxy() async throws {
        let directory = try TemporaryDirectory()
        let denyFile = directory.path("banned")
        try "# banned listeners\n127.0.0.5\n".write(toFile: denyFile, atomically: true, encoding: .utf8)
        let server = try await TestServer {
            $0.trustedProxies = AddressList([AddressPattern("127.0.0.1")!])
            $0.limits.maxListenersPerIP = 1
            $0.paths.denyIPFile = denyFile
        }
        let nginx = try await NginxServer(proxyingTo: server.port)
        let feed = streamUntilCancelled(try rawSource(port: server.port, mount: "/live"))
        #expect(await server.waitUntil { server.isLive("/live") })
        let proxied = "http://127.0.0.1:\(nginx.port)/live"

        let first = try listener(from: "127.0.0.2", url: proxied)
        #expect(await server.waitUntil { server.listeners("/live") == 1 })
        #expect(try await status(from: "127.0.0.2", url: proxied) == "403", "a second listener from the same client")
        #expect(try await status(from: "127.0.0.4", url: proxied) == "200", "another client through the same proxy")
        #expect(try await status(from: "127.0.0.5", url: proxied) == "403", "banned, through the proxy")
        #expect(try await status(from: "127.0.0.5", url: "http://127.0.0.1:\(server.port)/live") == "403", "banned, directly")

        first.terminate()
        feed.cancel()
        withExtendedLifetime(nginx) {}
        await server.stop()
    }
}
