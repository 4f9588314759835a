import FloeTestSupport
import Foundation
import MPEGAudio
import Testing

/// Every suite that starts servers and real clients runs inside this one, one test at a time: they share two
/// cores with ffmpeg and mpg123 processes, and timing-sensitive checks (source timeouts, pacing) must not starve.
@Suite("Integration", .serialized)
struct IntegrationTests {}

/// Shared material for the integration tests: one encoded tone, and helpers to read what listeners receive.
enum Fixture {
    /// Eight seconds of 128 kbps, 44.1 kHz stereo MP3 from LAME: frames only, no tags.
    static let mp3 = SineMP3.make(seconds: 8, frequency: 440)
    /// A second tone (880 Hz), to tell two mounts' streams apart.
    static let otherMP3 = SineMP3.make(seconds: 8, frequency: 880)

    /// Offsets at which frames start in `mp3`.
    static let frameStarts = Set(MPEGFrameSynchronizer.frames(in: mp3).map(\.offset))

    /// Where `excerpt` begins in `mp3`, if it is an exact excerpt of it starting on a frame boundary.
    static func frameAlignedOffset(of excerpt: [UInt8]) -> Int? {
        guard excerpt.count >= 4 else { return nil }
        for start in frameStarts.sorted() where start + excerpt.count <= mp3.count {
            if mp3[start] == excerpt[0], Array(mp3[start..<(start + excerpt.count)]) == excerpt {
                return start
            }
        }
        return nil
    }

    /// Writes `mp3` to a file for programs that read files.
    static func writeMP3(in directory: TemporaryDirectory, name: String = "tone.mp3") throws -> String {
        let path = directory.path(name)
        try Data(mp3).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Splits a listener stream with ICY metadata into audio and the metadata blocks, checking that every block
/// sits exactly `interval` audio bytes after the previous one.
struct ICYStream {
    var audio: [UInt8] = []
    /// Titles in order, `nil` for an unchanged (`\0`) block.
    var blocks: [String?] = []
    /// A block in the wrong place or with a malformed length makes the stream invalid.
    var isWellFormed = true

    init(_ bytes: [UInt8], interval: Int) {
        var index = 0
        while index < bytes.count {
            let take = min(interval, bytes.count - index)
            audio += bytes[index..<(index + take)]
            index += take
            guard take == interval, index < bytes.count else { break }
            let length = Int(bytes[index]) * 16
            index += 1
            guard index + length <= bytes.count else { break }
            if length == 0 {
                blocks.append(nil)
            } else {
                let text = String(decoding: bytes[index..<(index + length)].prefix { $0 != 0 }, as: UTF8.self)
                if text.hasPrefix("StreamTitle='"), text.hasSuffix("';") {
                    blocks.append(String(text.dropFirst(13).dropLast(2)))
                } else {
                    isWellFormed = false
                }
            }
            index += length
        }
    }
}

/// Sends `bytes` as a source on `mount` over a raw socket, logging in with SOURCE.
func rawSource(
    port: Int,
    mount: String,
    password: String = TestServer.sourcePassword,
    contentType: String = "audio/mpeg",
    headers: [String] = []
) throws -> RawSocket {
    let socket = try RawSocket(port: port)
    try socket.send(
        requestHead(
            "SOURCE \(mount) HTTP/1.0",
            ["Authorization: \(basicAuthorization("source", password))", "Content-Type: \(contentType)"] + headers
        )
    )
    let reply = socket.receive(exactly: 19)
    guard reply == Array("HTTP/1.0 200 OK\r\n\r\n".utf8) else {
        throw RawSocket.Failure(description: "source login failed: \(String(decoding: reply, as: UTF8.self))")
    }
    return socket
}

/// Connects a listener and reads its response head.
func rawListener(port: Int, mount: String, headers: [String] = [], receiveBuffer: Int? = nil) throws -> (RawSocket, String, [UInt8]) {
    let socket = try RawSocket(port: port, receiveBuffer: receiveBuffer)
    try socket.send(requestHead("GET \(mount) HTTP/1.0", headers))
    let (head, rest) = try socket.receiveHead()
    return (socket, head, rest)
}

/// Streams the tone in a loop at about real time until cancelled, so a mount stays live for as long as a test
/// needs it (a silent source would be dropped after `source-timeout`).
func streamUntilCancelled(_ socket: RawSocket, _ bytes: [UInt8] = Fixture.mp3) -> Task<Void, Error> {
    Task.detached {
        while !Task.isCancelled {
            try await sendPaced(socket, bytes, chunk: 4096, pause: .milliseconds(250))
        }
    }
}

/// How many of the frames in `stream` are frames of `source` (used to tell which tone a listener heard: the
/// two test tones share no frame).
func frameCount(in stream: [UInt8], from source: [UInt8]) -> Int {
    let known = Set(MPEGFrameSynchronizer.frames(in: source).map { Array(source[$0.offset..<($0.offset + $0.frame.length)]) })
    return MPEGFrameSynchronizer.frames(in: stream).filter { known.contains(Array(stream[$0.offset..<($0.offset + $0.frame.length)])) }.count
}

/// Sends `bytes` in chunks, pausing between them, so a stream arrives over time as it would from an encoder.
func sendPaced(_ socket: RawSocket, _ bytes: [UInt8], chunk: Int = 4096, pause: Duration = .milliseconds(5)) async throws {
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        try socket.send(Array(bytes[offset..<end]))
        offset = end
        try await Task.sleep(for: pause)
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds have passed, and says whether it held: for
/// conditions a test can only check asynchronously (an HTTP request, `/metrics`, a program's output), where
/// `TestServer.waitUntil` takes a synchronous one. Tests wait for what they need rather than sleep a fixed time, so
/// a loaded machine makes them slower, not flaky.
func eventually(timeout: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// The server's `/metrics`, by series as printed (`floe_bytes_in_total{mount="/live"}`): for waiting until the
/// server has read what a source sent (`floe_bytes_in_total` counts each read as it happens).
func prometheusMetrics(port: Int) async throws -> [String: Double] {
    let text = try await onThread {
        let socket = try RawSocket(port: port)
        try socket.send(requestHead("GET /metrics HTTP/1.0"))
        let (_, rest) = try socket.receiveHead()
        return String(decoding: rest + socket.receiveAll(), as: UTF8.self)
    }
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        values[String(line[..<space])] = value
    }
    return values
}
