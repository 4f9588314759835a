import Foundation

/// A UDP socket on 127.0.0.1 that collects every datagram (with its arrival time) on a thread of its own, for
/// tests that check what an RTP or FEC sender put on the wire. Optionally joins a multicast group on the loopback
/// interface (`IP_ADD_MEMBERSHIP` with interface 127.0.0.1), so nothing ever involves a real interface.
public final class UDPReceiver: @unchecked Sendable {
    // @unchecked: `datagrams` is guarded by `lock`; the descriptor is only read by the receiving thread.
    public let port: Int
    private let descriptor: Int32
    private let inbox = Inbox()
    private let thread: Thread

    /// What the receiving thread shares with the test.
    private final class Inbox: @unchecked Sendable {
        let lock = NSLock()
        var datagrams: [Datagram] = []
        var running = true
        var isRunning: Bool { lock.withLock { running } }
    }

    public struct Datagram: Sendable {
        public var bytes: [UInt8]
        /// Seconds since the receiver started.
        public var arrival: Double
    }

    /// A free UDP port on 127.0.0.1 (bound and released: for programs that must be told a port up front).
    public static func freePort() throws -> Int {
        let receiver = try UDPReceiver()
        defer { receiver.stop() }
        return receiver.port
    }

    /// Binds `port` (0: any free one) on 127.0.0.1, or on the group when `multicastGroup` is given.
    public init(port: Int = 0, multicastGroup: String? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocket.Failure(description: "socket: \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, multicastGroup ?? "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw RawSocket.Failure(description: "bind: \(String(cString: strerror(errno)))")
        }
        if let multicastGroup {
            var membership = ip_mreq()
            inet_pton(AF_INET, multicastGroup, &membership.imr_multiaddr)
            inet_pton(AF_INET, "127.0.0.1", &membership.imr_interface)
            guard setsockopt(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &membership, socklen_t(MemoryLayout<ip_mreq>.size)) == 0 else {
                close(fd)
                throw RawSocket.Failure(description: "IP_ADD_MEMBERSHIP: \(String(cString: strerror(errno)))")
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        descriptor = fd
        let descriptor = fd
        let started = Date()
        let inbox = self.inbox
        thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while inbox.isRunning {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { continue }
                let datagram = Datagram(bytes: Array(buffer[..<count]), arrival: Date().timeIntervalSince(started))
                inbox.lock.withLock { inbox.datagrams.append(datagram) }
            }
        }
        thread.start()
    }

    /// What has arrived so far.
    public var received: [Datagram] { inbox.lock.withLock { inbox.datagrams } }

    /// Stops receiving and closes the socket; returns everything that arrived.
    @discardableResult
    public func stop() -> [Datagram] {
        inbox.lock.withLock { inbox.running = false }
        while !thread.isFinished { usleep(10_000) }
        close(descriptor)
        return received
    }
}
