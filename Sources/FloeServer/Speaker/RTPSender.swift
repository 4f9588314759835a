import FloeCore
import Logging
import NIOCore
import NIOPosix

/// Sends a speaker output as RTP over UDP, unicast or multicast: MP3 frames as they are (`mpa`, RFC 2250) or
/// decoded PCM (`l16`).
///
/// One datagram socket per output, bound to an ephemeral port. A frame's packets are written together and flushed
/// once. Packets produced before the socket is ready, or refused by the kernel, are counted and dropped: RTP
/// receivers treat them as loss, and the clock never waits for the network.
final class RTPSender: SpeakerSink {
    let output: RTPOutput
    let clockRate: Int
    let lead: Duration = .zero
    private let eventLoop: EventLoop
    private let logger: Logger
    private var channel: Channel?
    private let destination: SocketAddress?
    private var packetizer: Packetizer
    private var decoder: MPEGDecoder?
    private(set) var report = SpeakerSinkReport()

    private enum Packetizer {
        case mpa(MPAPacketizer)
        case l16(L16Packetizer)
    }

    /// What a receiver needs to know: payload type, encoding and SSRC (for the SDP).
    let payloadType: UInt8
    let encoding: String
    let ssrc: UInt32

    init(output: RTPOutput, eventLoop: EventLoop, logger: Logger) {
        self.output = output
        self.eventLoop = eventLoop
        self.logger = logger
        self.destination = try? SocketAddress(ipAddress: output.address, port: output.port)
        switch output.mode {
        case .mpa:
            let packetizer = MPAPacketizer.random(maximumPacketBytes: output.maximumPacketBytes)
            self.packetizer = .mpa(packetizer)
            clockRate = Int(MPAPacketizer.clockRate)
            payloadType = MPAPacketizer.payloadType
            encoding = "MPA/90000"
            ssrc = packetizer.ssrc
        case .l16:
            let packetizer = L16Packetizer.random(
                sampleRate: output.sampleRate,
                channels: output.channels,
                dynamicPayloadType: UInt8(output.dynamicPayloadType),
                maximumPacketBytes: output.maximumPacketBytes
            )
            self.packetizer = .l16(packetizer)
            clockRate = output.sampleRate
            payloadType = packetizer.payloadType
            encoding = "L16/\(output.sampleRate)/\(output.channels)"
            ssrc = packetizer.ssrc
            do {
                decoder = try MPEGDecoder(sampleRate: output.sampleRate, channels: output.channels)
            } catch {
                report.problem = "\(error)"
            }
        }
    }

    func prepare() {
        let output = self.output
        let logger = self.logger
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_sndbuf), value: 256 * 1024)
                        .bind(host: "0.0.0.0", port: 0)
            .flatMap { channel -> EventLoopFuture<Channel> in
                guard output.isMulticast, let provider = channel as? SocketOptionProvider else {
                    return channel.eventLoop.makeSucceededFuture(channel)
                }
                var configured = provider.setIPMulticastTTL(CUnsignedChar(output.ttl))
                if let interface = output.interface {
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
                    this.value.channel = channel
                case .failure(let error):
                    this.value.report.problem = "cannot open the UDP socket: \(error)"
                    logger.error("RTP output cannot open its socket", metadata: ["error": "\(error)"])
                }
            }
    }

    func play(_ frame: SpeakerFrame, position: Int64, startsTalkspurt: Bool) {
        switch packetizer {
        case .mpa(var mpa):
            if startsTalkspurt { mpa.markIdleGap() }
            let packets = mpa.packets(frame: frame.bytes, atSampleFrame: position, sampleRate: clockRate)
            packetizer = .mpa(mpa)
            send(packets)
        case .l16(var l16):
            let pcm = decoder?.decode(frame.bytes, sampleRate: frame.sampleRate) ?? []
            let packets = l16.packets(appending: pcm, talkspurtAt: startsTalkspurt ? position : nil)
            packetizer = .l16(l16)
            send(packets)
        }
    }

    func playSilence(position: Int64, length: Int64) {
        guard case .l16(var l16) = packetizer else { return }
        let packets = l16.packets(appending: [Int16](repeating: 0, count: Int(length) * output.channels))
        packetizer = .l16(l16)
        send(packets)
    }

    func stop() {
        guard case .l16(var l16) = packetizer else { return }
        let packets = l16.flush()
        packetizer = .l16(l16)
        send(packets)
    }

    func close(done: EventLoopPromise<Void>) {
        stop()
        channel?.close(promise: nil)
        channel = nil
        done.succeed()
    }

    private func send(_ packets: [ByteBuffer]) {
        guard !packets.isEmpty else { return }
        guard let channel, let destination else {
            report.sendErrors += packets.count
            return
        }
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        for packet in packets {
            report.packetsSent += 1
            report.bytesSent += packet.readableBytes
            channel.write(AddressedEnvelope(remoteAddress: destination, data: packet)).whenFailure { error in
                this.value.report.sendErrors += 1
                this.value.report.problem = "send failed: \(error)"
            }
        }
        channel.flush()
    }
}
