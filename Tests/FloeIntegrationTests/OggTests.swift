import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// Ogg streams: relayed in whole pages, with the header pages replayed to listeners who join late.
    @Suite("Ogg", .serialized)
    struct OggTests {
        @Test(arguments: ["libvorbis", "libopus"])
        func lateListenerGetsTheHeaderPagesAndDecodes(codec: String) async throws {
            let directory = try TemporaryDirectory()
            let input = directory.path("tone.ogg")
            let encode = try await ExternalProcess.run(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=12:c=pink:a=0.3",
                 "-c:a", codec, "-b:a", "96k", "-f", "ogg", "-y", input]
            )
            #expect(encode.status == 0, "\(encode.stderr)")
            let ogg = try Array(Data(contentsOf: URL(fileURLWithPath: input)))

            // A small burst, so a listener joining halfway starts far from the header pages.
            let server = try await TestServer { $0.limits.burstSize = 8192 }
            let source = try rawSource(port: server.port, mount: "/radio.ogg", contentType: "application/ogg")
            let half = ogg.count / 2
            try await sendPaced(source, Array(ogg[..<half]), chunk: 4096, pause: .milliseconds(10))
            // The listener joins once the server has read that first half.
            #expect(try await eventually { try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/radio.ogg\"}", default: 0] >= Double(half) })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/radio.ogg")
            #expect(head.contains("Content-Type: application/ogg"))
            let reader = listener.receiveAllInBackground(prefix: rest)
            try await sendPaced(source, Array(ogg[half...]), chunk: 4096, pause: .milliseconds(10))
            source.shutdownWrite()
            let received = await reader.value

            #expect(received.count < ogg.count - 8192, "the listener joined late: \(received.count) of \(ogg.count)")
            #expect(Array(received.prefix(4)) == Array("OggS".utf8))
            #expect(received.count > 5 && received[5] & 0x02 != 0, "the first page is the stream's BOS page")
            let output = directory.path("received.ogg")
            try Data(received).write(to: URL(fileURLWithPath: output))
            let decode = try await ExternalProcess.run("ffmpeg", ["-hide_banner", "-v", "error", "-i", output, "-f", "null", "-"])
            #expect(decode.status == 0)
            #expect(decode.stderr.isEmpty, "ffmpeg decodes the late listener's stream cleanly: \(decode.stderr)")
            await server.stop()
        }

        /// Each chain's title (Vorbis comments, OpusTags, FLAC's VORBIS_COMMENT block) becomes the mount's title: in
        /// status and as ICY titles for listeners who ask. `/admin/metadata` does what Icecast 2.4 does: Vorbis takes
        /// it, Opus and FLAC answer "Mountpoint will not accept URL updates".
        @Test(arguments: ["libvorbis", "libopus", "flac"])
        func titlesOfEachChainReachStatusAndICYListeners(codec: String) async throws {
            let directory = try TemporaryDirectory()
            var chained: [UInt8] = []
            for (index, title) in ["First Song", "Second Song"].enumerated() {
                let path = directory.path("chain\(index).ogg")
                let encode = try await ExternalProcess.run(
                    "ffmpeg",
                    ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=3:c=pink:a=0.3:seed=\(index + 1)",
                     "-c:a", codec, "-b:a", "96k", "-metadata", "title=\(title)", "-metadata", "artist=The Band", "-f", "ogg", "-y", path]
                )
                #expect(encode.status == 0, "\(encode.stderr)")
                chained += try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            }
            let server = try await TestServer()
            let source = try rawSource(port: server.port, mount: "/chain.ogg", contentType: "application/ogg")
            let firstChain = try Array(Data(contentsOf: URL(fileURLWithPath: directory.path("chain0.ogg"))))
            #expect(await server.waitUntil { server.isLive("/chain.ogg") })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/chain.ogg", headers: ["Icy-MetaData: 1"])
            let interval = try #require(head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("icy-metaint:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }, "an Ogg mount offers ICY titles")
            let reader = listener.receiveAllInBackground(prefix: rest)
            try await sendPaced(source, firstChain, chunk: 4096, pause: .milliseconds(20))

            func status() async throws -> (title: String?, codec: String?) {
                let result = try await ExternalProcess.run(
                    "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)", "http://127.0.0.1:\(server.port)/admin/stats.json"]
                )
                let root = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
                let sources = (root?["icestats"] as? [String: Any])?["sources"] as? [[String: Any]]
                let mount = sources?.first { $0["mount"] as? String == "/chain.ogg" }
                return (mount?["title"] as? String, mount?["floe_codec"] as? String)
            }
            #expect(try await eventually { try await status().title == "The Band - First Song" }, "the first chain's title in status")
            let expectedCodec = ["libvorbis": "Vorbis", "libopus": "Opus", "flac": "FLAC"][codec]
            #expect(try await status().codec == expectedCodec)

            let update = try await ExternalProcess.run(
                "curl", ["-s", "-u", "admin:\(TestServer.adminPassword)",
                         "http://127.0.0.1:\(server.port)/admin/metadata?mount=/chain.ogg&mode=updinfo&song=From%20the%20URL"]
            )
            let answer = String(decoding: update.stdout, as: UTF8.self)
            if codec == "libvorbis" {
                #expect(answer.contains("<message>Metadata update successful</message><return>1</return>"), "\(answer)")
                #expect(try await status().title == "From the URL")
            } else {
                #expect(answer.contains("<message>Mountpoint will not accept URL updates</message><return>1</return>"), "\(answer)")
                #expect(try await status().title == "The Band - First Song")
            }

            try await sendPaced(source, Array(chained[firstChain.count...]), chunk: 4096, pause: .milliseconds(20))
            #expect(try await eventually { try await status().title == "The Band - Second Song" }, "the second chain's title in status")
            source.shutdownWrite()
            let stream = ICYStream(await reader.value, interval: interval)
            #expect(stream.isWellFormed)
            let titles = stream.blocks.compactMap { $0 }
            #expect(titles.first == "The Band - First Song")
            #expect(titles.last == "The Band - Second Song")
            // Without the ICY blocks, the listener has both chains byte for byte, from the first page on.
            #expect(stream.audio == chained)
            await server.stop()
        }
    }
}
