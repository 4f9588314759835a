import FloeCore
import FloeSpeaker
import NIOCore
import Testing

@Suite("RTP (RFC 3550 / RFC 2250)")
struct RTPTests {
    @Test func headerIsTwelveBytesInNetworkOrderAndParsesBack() {
        let header = RTPHeader(marker: true, payloadType: 14, sequenceNumber: 0xABCD, timestamp: 0x0102_0304, ssrc: 0xDEAD_BEEF)
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x80, 0x8E, 0xAB, 0xCD, 1, 2, 3, 4, 0xDE, 0xAD, 0xBE, 0xEF])
        #expect(RTPHeader(parsing: Array(buffer.readableBytesView)) == header)
    }

    @Test func oneFramePerPacketWithTheRFC2250HeaderAndMarkerOnlyFirst() {
        var packetizer = MPAPacketizer(ssrc: 7, initialSequenceNumber: 65_535, timestampBase: 1000)
        let frame = ByteBuffer(repeating: 0x55, count: 417)
        let first = packetizer.packets(frame: frame, atSampleFrame: 0, sampleRate: 44_100)
        let second = packetizer.packets(frame: frame, atSampleFrame: 1152, sampleRate: 44_100)
        #expect(first.count == 1 && second.count == 1)
        let a = Array(first[0].readableBytesView)
        let b = Array(second[0].readableBytesView)
        #expect(a.count == 12 + 4 + 417)
        #expect(Array(a[12..<16]) == [0, 0, 0, 0], "MBZ and Frag_offset 0")
        let headerA = RTPHeader(parsing: a)!
        let headerB = RTPHeader(parsing: b)!
        #expect(headerA.marker && !headerB.marker)
        #expect(headerA.sequenceNumber == 65_535 && headerB.sequenceNumber == 0, "sequence numbers wrap")
        #expect(headerB.timestamp &- headerA.timestamp == 2351, "1152 samples at 44.1 kHz are 2351.02 ticks")
        #expect(headerA.ssrc == 7 && headerB.ssrc == 7)
    }

    @Test func timestampsComeFromTheSampleCountWithoutAccumulatedRounding() {
        let packetizer = MPAPacketizer(ssrc: 1, initialSequenceNumber: 0, timestampBase: 0)
        // One hour of frames: 90 kHz × 3600 s exactly, not 3600/0.0261… × 2351.
        let frames = Int64(44_100 * 3600 / 1152)
        let position = frames * 1152
        #expect(packetizer.timestamp(atSampleFrame: position, sampleRate: 44_100) == UInt32(position * 90_000 / 44_100))
        #expect(packetizer.timestamp(atSampleFrame: 44_100 * 3600, sampleRate: 44_100) == 324_000_000)
    }

    @Test func anIdleGapMovesTheTimestampByTheGapAndMarksTheNextPacket() {
        var packetizer = MPAPacketizer(ssrc: 1, initialSequenceNumber: 10, timestampBase: 0)
        let frame = ByteBuffer(repeating: 1, count: 100)
        _ = packetizer.packets(frame: frame, atSampleFrame: 0, sampleRate: 48_000)
        packetizer.markIdleGap()
        let after = packetizer.packets(frame: frame, atSampleFrame: 48_000 * 2, sampleRate: 48_000)
        let header = RTPHeader(parsing: Array(after[0].readableBytesView))!
        #expect(header.marker)
        #expect(header.timestamp == 180_000, "two seconds of gap at 90 kHz")
        #expect(header.sequenceNumber == 11, "no sequence numbers are used up by the gap")
    }

    @Test func framesLargerThanThePacketAreFragmentedWithByteOffsets() {
        var packetizer = MPAPacketizer(ssrc: 1, initialSequenceNumber: 0, timestampBase: 0, maximumPacketBytes: 12 + 4 + 500)
        let frame = ByteBuffer(bytes: (0..<1200).map { UInt8($0 % 256) })
        let packets = packetizer.packets(frame: frame, atSampleFrame: 0, sampleRate: 44_100)
        #expect(packets.count == 3)
        var joined: [UInt8] = []
        for (index, packet) in packets.enumerated() {
            let bytes = Array(packet.readableBytesView)
            let offset = Int(bytes[14]) << 8 | Int(bytes[15])
            #expect(offset == index * 500)
            #expect(RTPHeader(parsing: bytes)!.timestamp == 0, "fragments share the frame's timestamp")
            joined += bytes[16...]
        }
        #expect(joined == Array(frame.readableBytesView))
    }
}
