import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// The `floe` binary as an operator runs it.
    @Suite("The floe executable", .serialized)
    struct ExecutableTests {
        /// `.build/<config>/floe`, beside the test bundle.
        static var binary: String {
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("floe").path
        }

        /// Waits for a running `floe`'s "Listen at:" line and returns the port in it.
        static func waitForPort(_ process: ExternalProcess) async throws -> Int {
            var banner = ""
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                banner += String(decoding: process.availableOutput(), as: UTF8.self)
                if let line = banner.split(separator: "\n").first(where: { $0.contains("Listen at:") }),
                    let url = line.split(separator: " ").last,
                    let port = Int(url.split(separator: ":").last!.split(separator: "/").first!)
                {
                    return port
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            process.terminate()
            throw RawSocket.Failure(description: "no banner: \(banner)")
        }

        /// Starts the binary and waits for its "Listen at:" line; returns the process and the port.
        func launch(_ arguments: [String], environment: [String: String] = [:]) async throws -> (ExternalProcess, Int, String) {
            let process = try ExternalProcess(Self.binary, arguments, environment: environment)
            var banner = ""
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                banner += String(decoding: process.availableOutput(), as: UTF8.self)
                if let line = banner.split(separator: "\n").first(where: { $0.contains("Listen at:") }),
                    let url = line.split(separator: " ").last, let port = Int(url.split(separator: ":").last!.split(separator: "/").first!)
                {
                    return (process, port, banner)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            process.terminate()
            throw RawSocket.Failure(description: "no banner: \(banner)")
        }

        /// Out of file descriptors, accept() fails at once every time it is tried. Floe pauses accepting instead
        /// of spinning a core, says so in its log with the limit, and takes new connections again as soon as
        /// others close.
        @Test func outOfDescriptorsItBacksOffLogsAndRecovers() async throws {
            let process = try ExternalProcess("prlimit", ["--nofile=64:64", Self.binary, "--port", "0"])
            let port = try await Self.waitForPort(process)
            let pid = process.process.processIdentifier  // prlimit execs floe in its own process
            var idle: [RawSocket] = []
            for _ in 0..<100 { idle.append(try RawSocket(port: port)) }  // the kernel queues what floe cannot accept
            func cpuSeconds() -> Double {
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
                let ticks = fields.count > 12 ? (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0) : 0
                return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
            let before = cpuSeconds()
            try await Task.sleep(for: .seconds(2))  // a duration: the CPU used over two seconds with the table full
            let used = cpuSeconds() - before
            #expect(used < 0.5, "\(used) s of CPU in 2 s with no descriptor left (spinning would be about 2 s)")

            idle.removeAll()  // closes them: descriptors come back
            var answered = ""
            let recovered = try await eventually(timeout: 10) {
                let socket = try RawSocket(port: port)
                try socket.send(requestHead("GET /nothing HTTP/1.0"))
                answered = String(decoding: socket.receiveAll(), as: UTF8.self)
                return answered.hasPrefix("HTTP/1.0 404")
            }
            #expect(recovered, "a new request is answered once connections closed: \(answered)")
            process.terminate()
            let result = await process.finish(timeout: 15)
            #expect(result.stderr.contains("Out of file descriptors"), "\(result.stderr)")
            #expect(result.stderr.contains("open_file_limit=64"))
        }

        @Test func embeddedDefaultPrintsGeneratedPasswordsServesAndStopsOnSIGTERM() async throws {
            let (process, port, banner) = try await launch(["--port", "0"])
            #expect(banner.contains("embedded default configuration"))
            // The generated password is printed in the source URL; use it.
            let sourceURL = try #require(banner.split(separator: " ").first { $0.hasPrefix("icecast://source:") })
            let password = String(sourceURL.dropFirst("icecast://source:".count).prefix { $0 != "@" })
            #expect(password.count >= 12)
            let source = try rawSource(port: port, mount: "/live", password: password)
            try source.send(Array(Fixture.mp3.prefix(50_000)))
            let (listener, head, _) = try rawListener(port: port, mount: "/live")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            kill(process.process.processIdentifier, SIGTERM)
            let result = await process.finish(timeout: 10)
            #expect(result.status == 0, "exit after SIGTERM: \(result.stderr)")
            #expect(listener.isClosedByPeer(within: 2))
            #expect(source.isClosedByPeer(within: 2))
        }

        /// At debug level the log names the services it runs, but never a password: only the banner prints them.
        @Test func theDebugLogNeverWritesThePasswords() async throws {
            let passwords = ["FLOE_SOURCE_PASSWORD": "srcSecret-1f8e", "FLOE_ADMIN_PASSWORD": "admSecret-92c4"]
            let (process, _, banner) = try await launch(["--port", "0", "--log-level", "debug"], environment: passwords)
            try await Task.sleep(for: .milliseconds(300))
            kill(process.process.processIdentifier, SIGTERM)
            let result = await process.finish(timeout: 10)
            let output = banner + String(decoding: result.stdout, as: UTF8.self) + result.stderr
            #expect(output.contains("Starting service"), "the debug log was written")
            for line in output.split(separator: "\n") where passwords.values.contains(where: line.contains) {
                let bannerLine = line.contains("Point a source client at:") || line.contains("icecast://source:")
                    || line.contains("Admin user / password:")
                #expect(bannerLine, "a password in the log: \(line)")
            }
        }

        @Test func runsOnAnIcecastXMLAndNamesWhatItDoesNotImplement() async throws {
            let directory = try TemporaryDirectory()
            let xml = """
                <icecast>
                  <limits><clients>50</clients><sources>1</sources></limits>
                  <authentication><source-password>xmlpass</source-password><admin-password>adm</admin-password></authentication>
                  <listen-socket><port>0</port><bind-address>127.0.0.1</bind-address></listen-socket>
                  <directory><yp-url-timeout>15</yp-url-timeout></directory>
                  <mount><mount-name>/named</mount-name><stream-name>From XML</stream-name></mount>
                </icecast>
                """
            try xml.write(toFile: directory.path("icecast.xml"), atomically: true, encoding: .utf8)
            let (process, port, _) = try await launch(["--icecast-config", directory.path("icecast.xml")])
            let source = try rawSource(port: port, mount: "/named", password: "xmlpass", headers: ["ice-name: From Source"])
            try source.send(Array(Fixture.mp3.prefix(20_000)))
            let (_, head, _) = try rawListener(port: port, mount: "/named")
            #expect(head.contains("icy-name:From XML"))
            // <sources>1</sources>: a second source is refused.
            let second = try RawSocket(port: port)
            try second.send(requestHead("SOURCE /other HTTP/1.0", ["Authorization: \(basicAuthorization("source", "xmlpass"))"]))
            #expect(String(decoding: second.receiveAll(), as: UTF8.self).hasSuffix("too many sources connected"))
            kill(process.process.processIdentifier, SIGINT)
            let result = await process.finish(timeout: 10)
            #expect(result.status == 0)
            #expect(result.stderr.contains("directory"), "the unsupported option is named: \(result.stderr)")
        }

        /// Three `floe` processes in a chain: origin (YAML) → edge (icecast.xml `<relay>`) → leaf (YAML `relays`).
        /// A leaf listener gets the origin's very bytes, whole frames, and a title set at the origin reaches it.
        @Test func aChainOfThreeFloeProcessesCarriesBytesAndTitles() async throws {
            let directory = try TemporaryDirectory()
            func yaml(_ name: String, _ extra: String) throws -> String {
                let file = directory.path(name)
                try """
                    listen: [{ port: 0, bind-address: 127.0.0.1 }]
                    authentication: { source-password: chainpw, admin-password: chainadm }
                    mounts-directory: ~
                    \(extra)
                    """.write(toFile: file, atomically: true, encoding: .utf8)
                return file
            }
            let (origin, originPort, _) = try await launch(["--config", try yaml("origin.yaml", "")])
            let source = try rawSource(port: originPort, mount: "/live", password: "chainpw")
            let feeding = streamUntilCancelled(source)
            let xml = """
                <icecast>
                  <authentication><source-password>chainpw</source-password><admin-password>chainadm</admin-password></authentication>
                  <listen-socket><port>0</port><bind-address>127.0.0.1</bind-address></listen-socket>
                  <relay><server>127.0.0.1</server><port>\(originPort)</port><mount>/live</mount><local-mount>/live</local-mount></relay>
                </icecast>
                """
            try xml.write(toFile: directory.path("edge.xml"), atomically: true, encoding: .utf8)
            let (edge, edgePort, _) = try await launch(["--icecast-config", directory.path("edge.xml")])
            let (leaf, leafPort, _) = try await launch([
                "--config", try yaml("leaf.yaml", "relay: { relays: [{ local-mount: /radio, upstreams: [http://127.0.0.1:\(edgePort)/live] }] }"),
            ])
            let (originListener, _, originRest) = try rawListener(port: originPort, mount: "/live")
            let originStream = originListener.receiveAllInBackground(prefix: originRest)
            var leafHead = ""
            var leafConnection: (RawSocket, [UInt8])?
            #expect(try await eventually(timeout: 15) {
                let (socket, head, rest) = try rawListener(port: leafPort, mount: "/radio", headers: ["Icy-MetaData: 1"])
                leafHead = head
                leafConnection = (socket, rest)
                return head.hasPrefix("HTTP/1.0 200 OK")
            }, "the leaf serves the chain's stream: \(leafHead)")
            let (leafListener, leafRest) = try #require(leafConnection)
            let leafStream = leafListener.receiveAllInBackground(prefix: leafRest)

            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:chainadm", "http://127.0.0.1:\(originPort)/admin/metadata?mount=/live&mode=updinfo&song=Three%20hops"])
            #expect(String(decoding: update.stdout, as: UTF8.self).contains("Metadata update successful"))
            var status = ""
            #expect(try await eventually(timeout: 5) {
                let reply = try await ExternalProcess.run("curl", ["-s", "http://127.0.0.1:\(leafPort)/status-json.xsl"])
                status = String(decoding: reply.stdout, as: UTF8.self)
                return status.contains("\"title\":\"Three hops\"")
            }, "the title reached the leaf: \(status)")
            try await Task.sleep(for: .seconds(2))
            feeding.cancel()
            for process in [leaf, edge, origin] { kill(process.process.processIdentifier, SIGTERM) }
            for process in [leaf, edge, origin] { _ = await process.finish(timeout: 10) }
            let originBytes = await originStream.value
            let leafICY = ICYStream(await leafStream.value, interval: 16_000)
            let leafBytes = leafICY.audio
            #expect(leafICY.isWellFormed)
            #expect(leafICY.blocks.contains("Three hops"), "the title in the leaf listener's stream")
            #expect(leafBytes.count > 3 * 16_000, "the leaf listener got \(leafBytes.count) bytes")
            #expect(originBytes.firstRange(of: Array(leafBytes.prefix(16_000))) != nil, "the leaf's bytes are the origin's")
            #expect(frameCount(in: leafBytes, from: Fixture.mp3) >= leafBytes.count / 418 - 2, "whole frames")
        }

        @Test func brokenIcecastXMLFailsWithFileAndLine() async throws {
            let directory = try TemporaryDirectory()
            try "<icecast>\n<limits><clients>abc</clients></limits>\n</icecast>\n".write(
                toFile: directory.path("bad.xml"), atomically: true, encoding: .utf8)
            let result = try await ExternalProcess.run(Self.binary, ["--icecast-config", directory.path("bad.xml")], timeout: 20)
            #expect(result.status != 0)
            #expect(result.stderr.contains("bad.xml:2"), "error names file and line: \(result.stderr)")
            #expect(result.stderr.contains("limits/clients"))
        }
    }
}
