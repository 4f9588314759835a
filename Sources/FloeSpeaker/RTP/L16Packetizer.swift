import NIOCore

/// Packs 16-bit PCM into RTP packets as RFC 3551 §4.5.11 says (L16): big-endian samples, channels interleaved,
/// the timestamp counting sample frames (one per sampling instant, whatever the number of channels).
///
/// Payload type 10 is 44.1 kHz stereo and 11 is 44.1 kHz mono; any other format takes a dynamic type, announced in
/// the SDP. Every packet but the last of a talkspurt carries the same number of sample frames, as many as fit the
/// packet limit. Audio is appended as it is decoded; a talkspurt start (the first audio, or audio after an idle
/// gap) sends what is pending first, then jumps the timestamp to the new position and sets the marker bit.
public struct L16Packetizer: Sendable {
    public let payloadType: UInt8
    public let sampleRate: Int
    public let channels: Int
    public let ssrc: UInt32
    public let timestampBase: UInt32
    public private(set) var nextSequenceNumber: UInt16
    /// Sample frames per full packet.
    public let framesPerPacket: Int

    /// Samples (channel-interleaved, native byte order) not yet sent.
    private var pending: [Int16] = []
    /// Clock position (in sample frames) of the first pending sample.
    private var pendingPosition: Int64 = 0
    private var markNext = true

    /// The payload type for a format: static 10 or 11 for 44.1 kHz, else `dynamic`.
    public static func payloadType(sampleRate: Int, channels: Int, dynamic: UInt8) -> UInt8 {
        switch (sampleRate, channels) {
        case (44100, 2): 10
        case (44100, 1): 11
        default: dynamic
        }
    }

    public init(
        sampleRate: Int,
        channels: Int,
        dynamicPayloadType: UInt8 = 96,
        ssrc: UInt32,
        initialSequenceNumber: UInt16,
        timestampBase: UInt32,
        maximumPacketBytes: Int = 1472
    ) {
        precondition(channels >= 1 && maximumPacketBytes > RTPHeader.length + 2 * channels)
        self.sampleRate = sampleRate
        self.channels = channels
        self.payloadType = Self.payloadType(sampleRate: sampleRate, channels: channels, dynamic: dynamicPayloadType)
        self.ssrc = ssrc
        self.nextSequenceNumber = initialSequenceNumber
        self.timestampBase = timestampBase
        self.framesPerPacket = (maximumPacketBytes - RTPHeader.length) / (2 * channels)
    }

    /// With random SSRC, sequence number and timestamp base (RFC 3550 §5.1).
    public static func random(
        sampleRate: Int,
        channels: Int,
        dynamicPayloadType: UInt8 = 96,
        maximumPacketBytes: Int = 1472
    ) -> L16Packetizer {
        var generator = SystemRandomNumberGenerator()
        return L16Packetizer(
            sampleRate: sampleRate,
            channels: channels,
            dynamicPayloadType: dynamicPayloadType,
            ssrc: generator.next(),
            initialSequenceNumber: generator.next(),
            timestampBase: generator.next(),
            maximumPacketBytes: maximumPacketBytes
        )
    }

    /// Appends decoded audio (channel-interleaved) and returns the packets that are now full.
    ///
    /// - Parameter talkspurtPosition: set when this audio starts a talkspurt: its clock position in sample frames.
    ///   Otherwise the audio follows what was appended before.
    public mutating func packets(appending samples: [Int16], talkspurtAt talkspurtPosition: Int64? = nil) -> [ByteBuffer] {
        var packets: [ByteBuffer] = []
        if let talkspurtPosition {
            packets = flush()
            pendingPosition = talkspurtPosition
            markNext = true
        }
        pending.append(contentsOf: samples)
        let samplesPerPacket = framesPerPacket * channels
        var start = 0
        while pending.count - start >= samplesPerPacket {
            packets.append(packet(pending[start..<start + samplesPerPacket]))
            start += samplesPerPacket
        }
        pending.removeFirst(start)
        return packets
    }

    /// Sends what is pending as a short packet (the end of a talkspurt).
    public mutating func flush() -> [ByteBuffer] {
        guard pending.count >= channels else { return [] }
        let whole = pending.count - pending.count % channels
        let last = packet(pending[0..<whole])
        pending.removeAll(keepingCapacity: true)
        return [last]
    }

    private mutating func packet(_ samples: ArraySlice<Int16>) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: RTPHeader.length + 2 * samples.count)
        RTPHeader(
            marker: markNext,
            payloadType: payloadType,
            sequenceNumber: nextSequenceNumber,
            timestamp: timestampBase &+ UInt32(truncatingIfNeeded: pendingPosition),
            ssrc: ssrc
        ).write(to: &buffer)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 2 * samples.count) { raw in
            var offset = 0
            for sample in samples {
                raw.storeBytes(of: sample.bigEndian, toByteOffset: offset, as: Int16.self)
                offset += 2
            }
            return offset
        }
        markNext = false
        nextSequenceNumber &+= 1
        pendingPosition += Int64(samples.count / channels)
        return buffer
    }
}
