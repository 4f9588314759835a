import NIOCore

/// Packs MP3 frames into RTP packets as RFC 2250 says (payload type 14, 90 kHz clock), for the speaker's `mpa`
/// output.
///
/// ```
///  +----------------------+--------------------------------+------------------------+
///  | RTP header (12 bytes)| MBZ (16) = 0 | Frag_offset (16) | MPEG audio frame bytes |
///  +----------------------+--------------------------------+------------------------+
/// ```
/// One frame per packet (Frag_offset 0); a frame larger than the payload limit is split into fragments whose
/// Frag_offset is the byte offset in the frame. Timestamps come from the frame's position in a 64-bit count of
/// sample frames, converted to 90 kHz for every packet, so hours of audio accumulate no rounding error; after an
/// idle gap the count has moved on by the gap, so the timestamp jumps by it, and the first packet carries the
/// marker bit. Sequence number, timestamp base and SSRC start random (RFC 3550), chosen by the caller.
public struct MPAPacketizer: Sendable {
    public static let payloadType: UInt8 = 14
    public static let clockRate: Int64 = 90_000
    /// The 4-byte RFC 2250 MPEG audio header.
    public static let mpegHeaderLength = 4

    public let ssrc: UInt32
    public private(set) var nextSequenceNumber: UInt16
    public let timestampBase: UInt32
    /// Largest UDP payload to produce (RTP header included): 1472 fits a 1500-byte Ethernet MTU over IPv4.
    public var maximumPacketBytes: Int
    private var markNext = true

    public init(ssrc: UInt32, initialSequenceNumber: UInt16, timestampBase: UInt32, maximumPacketBytes: Int = 1472) {
        self.ssrc = ssrc
        self.nextSequenceNumber = initialSequenceNumber
        self.timestampBase = timestampBase
        self.maximumPacketBytes = maximumPacketBytes
    }

    /// With random SSRC, sequence number and timestamp base.
    public static func random(maximumPacketBytes: Int = 1472) -> MPAPacketizer {
        var generator = SystemRandomNumberGenerator()
        return MPAPacketizer(
            ssrc: generator.next(),
            initialSequenceNumber: generator.next(),
            timestampBase: generator.next(),
            maximumPacketBytes: maximumPacketBytes
        )
    }

    /// The next packet starts a talkspurt (the source paused, or the speaker was idle).
    public mutating func markIdleGap() {
        markNext = true
    }

    /// The 90 kHz timestamp of the sample frame at `position` (counted from the start of the stream at
    /// `sampleRate`).
    public func timestamp(atSampleFrame position: Int64, sampleRate: Int) -> UInt32 {
        let ticks = position.multipliedFullWidth(by: Self.clockRate)
        let (quotient, _) = Int64(sampleRate).dividingFullWidth(ticks)
        return timestampBase &+ UInt32(truncatingIfNeeded: quotient)
    }

    /// The packets carrying one frame that starts at sample frame `position`.
    public mutating func packets(frame: ByteBuffer, atSampleFrame position: Int64, sampleRate: Int) -> [ByteBuffer] {
        let timestamp = timestamp(atSampleFrame: position, sampleRate: sampleRate)
        let room = maximumPacketBytes - RTPHeader.length - Self.mpegHeaderLength
        precondition(room > 0, "packet limit smaller than the headers")
        var packets: [ByteBuffer] = []
        var remaining = frame
        var offset = 0
        repeat {
            let take = min(room, remaining.readableBytes)
            var chunk = remaining.readSlice(length: take)!
            var packet = ByteBufferAllocator().buffer(capacity: RTPHeader.length + Self.mpegHeaderLength + take)
            RTPHeader(
                marker: markNext,
                payloadType: Self.payloadType,
                sequenceNumber: nextSequenceNumber,
                timestamp: timestamp,
                ssrc: ssrc
            ).write(to: &packet)
            packet.writeInteger(UInt16(0))
            packet.writeInteger(UInt16(truncatingIfNeeded: offset))
            packet.writeBuffer(&chunk)
            packets.append(packet)
            markNext = false
            nextSequenceNumber &+= 1
            offset += take
        } while remaining.readableBytes > 0
        return packets
    }
}
