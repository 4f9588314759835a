import Logging
import NIOCore
import NIOPosix

/// The socket of a network speaker output (RTP or FEC): one NIO datagram channel, bound to an ephemeral port,
/// with the multicast TTL and outgoing interface set when the destination is a group. Confined to its loop.
///
/// Datagrams handed over before the socket is ready, or refused by the kernel, are counted and dropped: the
/// receivers of both protocols treat them as loss, and the speaker's clock never waits for the network.
final class UDPOutput {
    private let eventLoop: EventLoop
    private let destination: SocketAddress?
    private var channel: Channel?
    /// Set by `close()`; a socket that finishes binding afterwards is closed at once.
    private var closed = false
    private(set) var report = SpeakerSinkReport()

    init(eventLoop: EventLoop, address: String, port: Int) {
        self.eventLoop = eventLoop
        self.destination = try? SocketAddress(ipAddress: address, port: port)
        if destination == nil { report.problem = "\(address) is not an IPv4 address" }
    }

    /// Opens the socket (on the loop); `multicastTTL` and `interface` apply to multicast destinations.
    func open(multicast: Bool, ttl: Int, interface: String?, logger: Logger) {
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_sndbuf), value: 256 * 1024)
            .bind(host: "0.0.0.0", port: 0)
            .flatMap { channel -> EventLoopFuture<Channel> in
                guard multicast, let provider = channel as? SocketOptionProvider else {
                    return channel.eventLoop.makeSucceededFuture(channel)
                }
                var configured = provider.setIPMulticastTTL(CUnsignedChar(ttl))
                if let interface {
                    var parsed = in_addr()
                    inet_pton(AF_INET, interface, &parsed)
                    let address = parsed
                    configured = configured.flatMap { provider.setIPMulticastIF(address) }
                }
                return configured.map { channel }
            }
            .hop(to: eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    if this.value.closed {
                        channel.close(promise: nil)
                    } else {
                        this.value.channel = channel
                    }
                case .failure(let error):
                    this.value.report.problem = "cannot open the UDP socket: \(error)"
                    logger.error("Speaker output cannot open its socket", metadata: ["error": "\(error)"])
                }
            }
    }

    /// Writes `datagrams` and flushes once; returns the last write's future (`nil` when nothing was written).
    @discardableResult
    func send(_ datagrams: [ByteBuffer]) -> EventLoopFuture<Void>? {
        guard !datagrams.isEmpty else { return nil }
        guard let channel, let destination else {
            report.sendErrors += datagrams.count
            return nil
        }
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        var last: EventLoopFuture<Void>?
        for datagram in datagrams {
            report.packetsSent += 1
            report.bytesSent += datagram.readableBytes
            let written = channel.write(AddressedEnvelope(remoteAddress: destination, data: datagram))
            written.whenFailure { error in
                this.value.report.sendErrors += 1
                this.value.report.problem = "send failed: \(error)"
            }
            last = written
        }
        channel.flush()
        return last
    }

    func close() {
        closed = true
        channel?.close(promise: nil)
        channel = nil
    }
}
