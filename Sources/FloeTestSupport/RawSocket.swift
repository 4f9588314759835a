#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A plain blocking TCP socket to 127.0.0.1, for tests that need exact bytes on the wire: what a raw client
/// sends and precisely what comes back, with no HTTP library in between.
public final class RawSocket: @unchecked Sendable {
    // @unchecked: a test uses one socket from one task at a time; the descriptor is the only state.
    public let descriptor: Int32

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Connects to `port` on loopback. `receiveBuffer` sets SO_RCVBUF before connecting (a small value makes a
    /// client that stops reading stall quickly).
    public init(port: Int, receiveBuffer: Int? = nil, timeout: Double = 10) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect: \(errno)")
        }
        self.descriptor = fd
    }

    deinit {
        close(descriptor)
    }

    /// Sends all of `bytes`; throws if the peer is gone.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: \(errno)") }
            offset += sent
        }
    }

    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Reads what is available, up to `maximum` bytes; empty at end of stream. Throws on timeout or reset.
    public func receive(maximum: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, maximum, 0) }
        guard count >= 0 else { throw Failure(description: "recv: errno \(errno)") }
        return Array(buffer[..<count])
    }

    /// Reads until `count` bytes have arrived (or the stream ends / times out; then returns what came).
    public func receive(exactly count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            guard let chunk = try? receive(maximum: min(65536, count - result.count)), !chunk.isEmpty else { break }
            result += chunk
        }
        return result
    }

    /// Reads until the peer closes (or the timeout passes).
    public func receiveAll(limit: Int = 16 << 20) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < limit {
            guard let chunk = try? receive(), !chunk.isEmpty else { break }
            result += chunk
        }
        return result
    }

    /// Reads a response head (up to the blank line) and returns it with whatever body bytes came along.
    public func receiveHead() throws -> (head: String, rest: [UInt8]) {
        var data: [UInt8] = []
        while true {
            if let range = data.firstRange(of: [13, 10, 13, 10]) {
                return (String(decoding: data[..<range.lowerBound], as: UTF8.self), Array(data[range.upperBound...]))
            }
            let chunk = try receive()
            guard !chunk.isEmpty else { throw Failure(description: "closed before the end of the head: \(String(decoding: data, as: UTF8.self))") }
            data += chunk
        }
    }

    /// Half-closes the sending side.
    public func shutdownWrite() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Whether the peer has closed: a read returns end of stream or a reset within `timeout` seconds.
    public func isClosedByPeer(within timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return true }
        }
        return false
    }
}

/// An HTTP request head as a raw client would send it.
public func requestHead(_ requestLine: String, _ headers: [String] = []) -> String {
    ([requestLine] + headers).joined(separator: "\r\n") + "\r\n\r\n"
}

/// The Basic authorization header value for `user:password`.
public func basicAuthorization(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

/// Whether two byte arrays are equal, as a plain Bool: a failed `#expect(a == b)` on megabytes of audio would
/// print every byte.
public func sameBytes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    lhs == rhs
}

/// Runs blocking work (socket reads, libshout calls) on a thread of its own and awaits its result.
///
/// Blocking inside Swift's cooperative pool starves everything else: on a 2-core machine the pool has two
/// threads, so two blocked readers stop the very tasks (sources, the test body) they are waiting for.
public func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

extension RawSocket {
    /// Reads until the peer closes (or `limit` bytes), on a thread of its own; `prefix` is what arrived with the
    /// response head.
    public func receiveAllInBackground(prefix: [UInt8] = [], limit: Int = 64 << 20) -> Task<[UInt8], Never> {
        Task { (try? await onThread { prefix + self.receiveAll(limit: limit) }) ?? prefix }
    }
}
