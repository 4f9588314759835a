import FloeCodec
import FloeCore
import Logging
import NIOCore
import NIOPosix

/// Sends a speaker output as RTP over UDP, unicast or multicast: MP3 frames as they are (`mpa`, RFC 2250) or
/// decoded PCM (`l16`).
///
/// One datagram socket per output (`UDPOutput`). A frame's packets are written together and flushed once.
final class RTPSender: SpeakerSink {
    let output: RTPOutput
    let clockRate: Int
    let lead: Duration = .zero
    private let eventLoop: EventLoop
    private let logger: Logger
    private let socket: UDPOutput
    private var packetizer: Packetizer
    private var decoder: MPEGDecoder?
    private var decoderProblem: String?

    var report: SpeakerSinkReport {
        var report = socket.report
        report.problem = decoderProblem ?? report.problem
        return report
    }

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
        self.socket = UDPOutput(eventLoop: eventLoop, address: output.address, port: output.port)
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
                decoderProblem = "\(error)"
            }
        }
    }

    func prepare() {
        socket.open(multicast: output.isMulticast, ttl: output.ttl, interface: output.interface, logger: logger)
    }

    func play(_ frame: SpeakerFrame, position: Int64, startsTalkspurt: Bool) {
        switch packetizer {
        case .mpa(var mpa):
            if startsTalkspurt { mpa.markIdleGap() }
            // The schedule's positions are 90 kHz ticks already (clockRate), so the conversion is the identity.
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

    /// The talkspurt's last, short packet goes out when it ends, not after the gap with a stale timestamp.
    func gapStarted() {
        guard case .l16(var l16) = packetizer else { return }
        let packets = l16.flush()
        packetizer = .l16(l16)
        send(packets)
    }

    func stop() {
        gapStarted()
        decoder?.reset()
    }

    func close(done: EventLoopPromise<Void>) {
        stop()
        socket.close()
        done.succeed()
    }

    private func send(_ packets: [ByteBuffer]) {
        socket.send(packets)
    }
}
