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
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/radio.ogg", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("Content-Type: application/ogg"))
            #expect(!head.contains("icy-metaint"), "Ogg carries its metadata in-band")
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
    }
}
