import FloeTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// WebM: late joiners get the EBML header, Segment info and tracks, then start at a keyframe cluster.
    @Suite("WebM", .serialized)
    struct WebMTests {
        /// VP8 with a keyframe every 2 s in clusters of 0.5 s (so most clusters are no place to start), and Opus.
        @Test func aLateJoinerOfVideoStartsAtAKeyframeClusterAndDecodesFromItsFirstByte() async throws {
            let directory = try TemporaryDirectory()
            let input = directory.path("av.webm")
            let encode = try await ExternalProcess.run(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=12",
                 "-f", "lavfi", "-i", "anoisesrc=d=12:c=pink:a=0.2", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                 "-b:v", "150k", "-g", "30", "-c:a", "libopus", "-b:a", "48k", "-cluster_time_limit", "500", "-f", "webm", "-y", input],
                timeout: 60
            )
            #expect(encode.status == 0, "\(encode.stderr)")
            let webm = try Array(Data(contentsOf: URL(fileURLWithPath: input)))

            let server = try await TestServer { $0.limits.burstSize = 20_000 }
            let source = try rawSource(port: server.port, mount: "/tv.webm", contentType: "video/webm")
            let sent = webm.count * 10 / 12
            try await sendPaced(source, Array(webm[..<sent]), chunk: 8192, pause: .milliseconds(5))
            #expect(try await eventually {
                try await prometheusMetrics(port: server.port)["floe_bytes_in_total{mount=\"/tv.webm\"}", default: 0] >= Double(sent)
            })
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/tv.webm", headers: ["Icy-MetaData: 1"])
            #expect(head.contains("Content-Type: video/webm"))
            #expect(!head.contains("icy-metaint"), "WebM carries no ICY metadata")
            let reader = listener.receiveAllInBackground(prefix: rest)
            try await sendPaced(source, Array(webm[sent...]), chunk: 8192, pause: .milliseconds(5))
            source.shutdownWrite()
            let received = await reader.value
            #expect(received.count < webm.count / 2, "the listener joined late: \(received.count) of \(webm.count)")

            let output = directory.path("late.webm")
            try Data(received).write(to: URL(fileURLWithPath: output))
            // Decoded to per-frame checksums (the null muxer complains of timestamps that start late, framemd5 does
            // not): a start without a keyframe would be "Error while decoding stream".
            let decode = try await ExternalProcess.run("ffmpeg", ["-hide_banner", "-v", "error", "-i", output, "-f", "framemd5", "-y", "/dev/null"])
            #expect(decode.status == 0 && decode.stderr.isEmpty, "ffmpeg decodes the late joiner's stream cleanly: \(decode.stderr)")
            // Its first video packet is a keyframe, and it starts 10 s or so into the stream.
            let probe = try await ExternalProcess.run(
                "ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", output]
            )
            let packets = String(decoding: probe.stdout, as: UTF8.self).split(separator: "\n")
            let first = try #require(packets.first).split(separator: ",")
            #expect(first.count == 2 && first[1].hasPrefix("K"), "first video packet: \(first)")
            #expect((Double(first[0]) ?? 0) >= 6, "joined late: first video packet at \(first[0]) s")
            await server.stop()
        }

        /// ffmpeg as a live WebM source client (Opus, unknown-size Segment): a listener joining a few seconds in
        /// decodes from its first byte.
        @Test func ffmpegLiveWebMOpusSourceServesALateJoiner() async throws {
            let server = try await TestServer { $0.limits.burstDuration = 1 }
            let url = "icecast://source:\(TestServer.sourcePassword)@127.0.0.1:\(server.port)/live.webm"
            let ffmpeg = try ExternalProcess(
                "ffmpeg",
                ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=330:duration=6",
                 "-c:a", "libopus", "-b:a", "64k", "-f", "webm", "-content_type", "audio/webm", url]
            )
            #expect(await server.waitUntil { server.isLive("/live.webm") })
            try await Task.sleep(for: .seconds(3))  // a duration: the listener joins three seconds in
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/live.webm")
            #expect(head.contains("Content-Type: audio/webm"))
            let received = await listener.receiveAllInBackground(prefix: rest).value
            let result = await ffmpeg.finish(timeout: 30)
            #expect(result.status == 0, "ffmpeg source: \(result.stderr)")
            let directory = try TemporaryDirectory()
            let output = directory.path("live.webm")
            try Data(received).write(to: URL(fileURLWithPath: output))
            let decode = try await ExternalProcess.run(
                "ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", output]
            )
            #expect(decode.status == 0 && decode.stderr.isEmpty, "\(decode.stderr)")
            let full = try await ExternalProcess.run("ffmpeg", ["-hide_banner", "-v", "error", "-i", output, "-f", "null", "-"])
            #expect(full.status == 0 && full.stderr.isEmpty, "ffmpeg decodes the late joiner's stream: \(full.stderr)")
            await server.stop()
        }
    }
}
