import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A headless Chromium driven over the DevTools protocol, for tests that watch a page change without reloading
/// it (a title appearing, a listener count going down) or act on it (clicking a button).
public final class HeadlessChromium: @unchecked Sendable {
    // @unchecked: one test drives one browser from one task; the socket and counter are not shared.
    private let process: ExternalProcess
    private let socket: RawSocket
    private var nextID = 1

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts Chromium on `url`, with `arguments` added to its command line, and connects to the page's DevTools
    /// socket.
    public init(url: String, arguments: [String] = []) async throws {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("floe-chromium-\(UUID().uuidString)").path
        process = try ExternalProcess(
            "chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-port=0",
             "--user-data-dir=\(profile)", "--window-size=1000,700"] + arguments + [url]
        )
        // Chromium writes the port to DevToolsActivePort in the profile directory.
        var port: Int?
        for _ in 0..<200 where port == nil {
            if let text = try? String(contentsOfFile: profile + "/DevToolsActivePort", encoding: .utf8) {
                port = Int(text.split(separator: "\n").first ?? "")
            }
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let port else { throw Failure(description: "Chromium did not open its DevTools port") }
        var pageSocket: String?
        for _ in 0..<100 where pageSocket == nil {
            // A plain socket: Foundation's libcurl-based client chokes on Chromium's DevTools HTTP replies.
            let http = try RawSocket(port: port)
            try http.send("GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
            let reply = http.receiveAll()
            let body = reply.firstRange(of: Array("\r\n\r\n".utf8)).map { Array(reply[$0.upperBound...]) } ?? []
            let targets = (try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]]) ?? []
            pageSocket = targets.first { $0["type"] as? String == "page" }?["webSocketDebuggerUrl"] as? String
            if pageSocket == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let pageSocket, let socketURL = URL(string: pageSocket) else {
            throw Failure(description: "no page target in Chromium")
        }
        // Foundation on Linux has no WebSocket client; the protocol needs little for this (RFC 6455).
        socket = try RawSocket(port: port, timeout: 15)
        try socket.send(
            "GET \(socketURL.path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: ZmxvZS10ZXN0LWtleS0xMg==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        let (head, rest) = try socket.receiveHead()
        guard head.hasPrefix("HTTP/1.1 101") else { throw Failure(description: "WebSocket upgrade refused: \(head)") }
        pending = rest
    }

    deinit {
        process.terminate()
    }

    /// Bytes read from the socket but not yet parsed as frames.
    private var pending: [UInt8] = []

    /// Sends one masked text frame (clients must mask).
    private func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try socket.send(frame)
    }

    /// Reads one whole message (joining continuation frames), skipping control frames.
    private func receiveText() throws -> String {
        var message: [UInt8] = []
        while true {
            try fill(2)
            let opcode = pending[0] & 0x0F
            let fin = pending[0] & 0x80 != 0
            var length = Int(pending[1] & 0x7F)
            var header = 2
            if length == 126 {
                try fill(4)
                length = Int(pending[2]) << 8 | Int(pending[3])
                header = 4
            } else if length == 127 {
                try fill(10)
                length = (2..<10).reduce(0) { $0 << 8 | Int(pending[$1]) }
                header = 10
            }
            try fill(header + length)
            let payload = Array(pending[header..<(header + length)])
            pending.removeFirst(header + length)
            if opcode == 0x8 { throw Failure(description: "DevTools closed the socket") }
            guard opcode == 0x1 || opcode == 0x0 else { continue }
            message += payload
            if fin { return String(decoding: message, as: UTF8.self) }
        }
    }

    private func fill(_ count: Int) throws {
        while pending.count < count {
            let chunk = try socket.receive()
            guard !chunk.isEmpty else { throw Failure(description: "DevTools socket ended") }
            pending += chunk
        }
    }

    /// Sends one DevTools command and returns its `result` object.
    @discardableResult
    public func command(_ method: String, _ params: [String: Any] = [:]) async throws -> [String: Any] {
        let id = nextID
        nextID += 1
        let data = try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": params] as [String: Any])
        try sendText(String(decoding: data, as: UTF8.self))
        while true {
            let text = try await onThread { [self] in try self.receiveText() }
            guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                object["id"] as? Int == id
            else { continue }
            if let error = object["error"] { throw Failure(description: "\(method): \(error)") }
            return object["result"] as? [String: Any] ?? [:]
        }
    }

    /// Evaluates `expression` in the page and returns its value as a string (`String(describing:)` of JSON).
    public func evaluate(_ expression: String) async throws -> String {
        let result = try await command(
            "Runtime.evaluate",
            ["expression": expression, "returnByValue": true, "awaitPromise": true]
        )
        if let value = (result["result"] as? [String: Any])?["value"] { return value as? String ?? "\(value)" }
        return ""
    }

    /// Opens `url`, sending `headers` (e.g. `Authorization`) with every request of the page.
    public func open(_ url: String, headers: [String: String] = [:]) async throws {
        try await command("Network.enable")
        if !headers.isEmpty { try await command("Network.setExtraHTTPHeaders", ["headers": headers]) }
        try await command("Page.navigate", ["url": url])
    }

    /// Saves a PNG of the page.
    public func screenshot(to path: String) async throws {
        let result = try await command("Page.captureScreenshot", ["format": "png"])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot data")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Evaluates `expression` until it returns `expected`, for at most `timeout` seconds; returns the last value.
    public func wait(for expression: String, toBe expected: String, timeout: Double = 10) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try await evaluate(expression)
            if last == expected { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }
}
