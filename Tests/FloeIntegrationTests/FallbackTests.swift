import FloeCore
import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

extension IntegrationTests {
    /// Fallbacks: listeners move on the same connection, cut on frame boundaries, and come back.
    @Suite("Fallbacks", .serialized)
    struct FallbackTests {
        /// Reads a listener in the background until the server closes it or `limit` bytes arrive.
        func collect(_ socket: RawSocket, _ rest: [UInt8], limit: Int = 8 << 20) -> Task<[UInt8], Never> {
            socket.receiveAllInBackground(prefix: rest, limit: limit)
        }

        /// Every byte belongs to a whole frame: no garbage where one stream was cut and another joined.
        func framing(of stream: [UInt8]) -> MPEGFrameSynchronizer.Statistics {
            var synchronizer = MPEGFrameSynchronizer()
            var pending = stream[...]
            while !pending.isEmpty {
                switch synchronizer.step(Array(pending.prefix(8192)), isEndOfStream: pending.count <= 8192) {
                case .frame(let frame): pending = pending.dropFirst(frame.length)
                case .skip(let count, _): pending = pending.dropFirst(count)
                case .needMoreData: return synchronizer.statistics
                }
            }
            return synchronizer.statistics
        }

        @Test func listenerMovesToTheFallbackAndBackOnOneConnectionWithWholeFrames() async throws {
            let server = try await TestServer {
                $0.mounts["/main"] = .init(fallbackMount: "/fb", fallbackOverride: true)
            }
            let directory = try TemporaryDirectory()
            let fallbackSource = try rawSource(port: server.port, mount: "/fb")
            try fallbackSource.send(Array(Fixture.otherMP3.prefix(32_000)))
            let fallbackFeeder = streamUntilCancelled(fallbackSource, Fixture.otherMP3)

            let mainSource = try rawSource(port: server.port, mount: "/main")
            try mainSource.send(Array(Fixture.mp3.prefix(40_000)))
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/main")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = collect(listener, rest)
            try await sendPaced(mainSource, Array(Fixture.mp3[40_000..<80_000]), chunk: 4096, pause: .milliseconds(20))

            // The main source leaves: the listener is now on /fb, same TCP connection.
            mainSource.shutdownWrite()
            #expect(await server.waitUntil { server.listeners("/fb") == 1 && server.listeners("/main") == 0 })
            try await Task.sleep(for: .milliseconds(1500))  // a duration: the listener hears /fb for a while (checked below)

            // A source returns to /main with fallback-override: the listener comes back.
            let returning = try rawSource(port: server.port, mount: "/main")
            #expect(await server.waitUntil { server.listeners("/main") == 1 && server.listeners("/fb") == 0 })
            try await sendPaced(returning, Array(Fixture.mp3.prefix(60_000)), chunk: 4096, pause: .milliseconds(20))
            returning.shutdownWrite()
            // With /main gone again the listener is back on /fb; end /fb too, which ends the listener.
            #expect(await server.waitUntil { server.listeners("/fb") == 1 })
            fallbackFeeder.cancel()
            fallbackSource.shutdownWrite()
            let received = await stream.value

            let statistics = framing(of: received)
            #expect(statistics.garbageBytes == 0, "a frame was cut where the streams switched")
            #expect(statistics.frames > 300)
            let mainFrames = frameCount(in: received, from: Fixture.mp3)
            let fallbackFrames = frameCount(in: received, from: Fixture.otherMP3)
            #expect(mainFrames > 150, "heard /main twice")
            #expect(fallbackFrames > 30, "heard /fb")
            #expect(mainFrames + fallbackFrames == statistics.frames, "nothing but the two sources' frames")
            let path = directory.path("followed.mp3")
            try Data(received).write(to: URL(fileURLWithPath: path))
            let decode = try await ExternalProcess.run("mpg123", ["-t", path])
            #expect(decode.status == 0)
            #expect(!decode.stderr.lowercased().contains("error"), "mpg123: \(decode.stderr)")
            await server.stop()
        }

        @Test func mountWithoutSourceIsServedByItsLiveFallbackChain() async throws {
            let server = try await TestServer {
                $0.mounts["/a"] = .init(fallbackMount: "/b")
                $0.mounts["/b"] = .init(fallbackMount: "/c")
            }
            let source = try rawSource(port: server.port, mount: "/c", headers: ["ice-name: Chain End"])
            try source.send(Array(Fixture.mp3.prefix(30_000)))
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/a")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            #expect(head.contains("icy-name:Chain End"), "served with the fallback's headers")
            #expect(rest.isEmpty || Fixture.frameAlignedOffset(of: Array(rest.prefix(4096))) != nil)
            #expect(await server.waitUntil { server.listeners("/c") == 1 })
            withExtendedLifetime(listener) {}
            await server.stop()
        }

        @Test func fullMountSendsNewListenersToTheFallbackWhenAsked() async throws {
            let server = try await TestServer {
                $0.mounts["/small"] = .init(maxListeners: 1, fallbackMount: "/big", fallbackWhenFull: true)
            }
            let small = try rawSource(port: server.port, mount: "/small")
            let big = try rawSource(port: server.port, mount: "/big")
            try small.send(Array(Fixture.mp3.prefix(20_000)))
            try big.send(Array(Fixture.otherMP3.prefix(20_000)))
            let (first, firstHead, _) = try rawListener(port: server.port, mount: "/small")
            let (second, secondHead, _) = try rawListener(port: server.port, mount: "/small")
            #expect(firstHead.hasPrefix("HTTP/1.0 200 OK"))
            #expect(secondHead.hasPrefix("HTTP/1.0 200 OK"))
            #expect(await server.waitUntil { server.listeners("/small") == 1 && server.listeners("/big") == 1 })
            _ = (first, second)
            await server.stop()
        }

        @Test func fileFallbackPlaysInRealTimeUntilTheSourceReturns() async throws {
            let webroot = try TemporaryDirectory()
            try Data(Fixture.otherMP3).write(to: URL(fileURLWithPath: webroot.path("fallback.mp3")))
            let server = try await TestServer {
                $0.paths.webroot = webroot.url.path
                $0.mounts["/live"] = .init(fallbackMount: "/fallback.mp3", fallbackOverride: true)
            }
            // No source on /live: the file plays.
            let (listener, head, rest) = try rawListener(port: server.port, mount: "/live")
            #expect(head.hasPrefix("HTTP/1.0 200 OK"))
            let stream = collect(listener, rest, limit: 1 << 20)
            let start = ContinuousClock.now
            try await Task.sleep(for: .seconds(2))  // a duration: two seconds of the file, paced in real time (measured below)
            let source = try rawSource(port: server.port, mount: "/live")
            #expect(await server.waitUntil { server.listeners("/live") == 1 })
            try await sendPaced(source, Array(Fixture.mp3.prefix(48_000)), chunk: 4096, pause: .milliseconds(20))
            source.shutdownWrite()
            // Back on the file after the source leaves; stop the server to end the stream.
            #expect(await server.waitUntil { server.listeners("/fallback.mp3") == 1 })
            await server.stop()
            let received = await stream.value
            let elapsed = ContinuousClock.now - start
            #expect(framing(of: received).garbageBytes == 0)
            let fileFrames = frameCount(in: received, from: Fixture.otherMP3)
            #expect(fileFrames > 20, "heard the file")
            #expect(frameCount(in: received, from: Fixture.mp3) > 60, "heard the live source")
            // Real time, not a burst: the file part is at most what its play time allows (plus one block).
            let fileSeconds = Double(fileFrames) * 1152 / 44_100
            #expect(fileSeconds < elapsed.seconds + 1.0, "the file was paced by the frame clock: \(fileSeconds) s in \(elapsed)")
        }
    }
}
