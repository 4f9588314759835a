#if canImport(Glibc)
import Glibc
#endif

/// A blocking UDP socket for `floe fec-recv`: bound to a port, joined to a multicast group when the address is
/// one (on the interface given, or the routing table's), read one datagram at a time with a timeout.
public final class DatagramReceiver {
    private let descriptor: Int32

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - address: a multicast group to join, or the local address to receive unicast on (`0.0.0.0`: any).
    ///   - interface: for a group, the local address of the interface to join on (`127.0.0.1` for loopback).
    public init(address: String, port: Int, interface: String?) throws {
        var group = in_addr()
        guard inet_pton(AF_INET, address, &group) == 1 else { throw Failure(description: "\(address) is not an IPv4 address") }
        let isMulticast = (UInt32(bigEndian: group.s_addr) >> 28) == 0xE
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var size: Int32 = 1 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = in_port_t(UInt16(port).bigEndian)
        local.sin_addr = group  // a group address receives only that group's datagrams
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot bind \(address):\(port): \(message)")
        }
        if isMulticast {
            var membership = ip_mreq()
            membership.imr_multiaddr = group
            if let interface, inet_pton(AF_INET, interface, &membership.imr_interface) != 1 {
                close(descriptor)
                throw Failure(description: "\(interface) is not an IPv4 address")
            }
            guard setsockopt(descriptor, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &membership, socklen_t(MemoryLayout<ip_mreq>.size)) == 0 else {
                let message = String(cString: strerror(errno))
                close(descriptor)
                throw Failure(description: "cannot join \(address) on \(interface ?? "the default interface"): \(message)")
            }
        }
    }

    deinit {
        close(descriptor)
    }

    /// The next datagram, or `nil` when none arrives within `timeout` seconds.
    public func receive(timeout: Double) -> [UInt8]? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(min(timeout, 3600) * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[..<count]) : nil
    }
}
