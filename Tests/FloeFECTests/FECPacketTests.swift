import FloeFEC
import Testing

/// A small data packet and its exact wire bytes, written out by hand from the table in `FECPacket`'s
/// documentation.
enum SmallPacket {
    static let packet = FECPacket(
        dataSlices: 3,
        totalSlices: 5,
        sliceNumber: 4,
        groupNumber: 300,
        groupBytes: 10,
        flags: .startOfStream,
        mediaTimeMicroseconds: 1_000_000,
        slice: [0xDE, 0xAD, 0xBE, 0xEF]
    )

    static let bytes: [UInt8] = [
        0x46, 0x4C, 0x46, 0x43,  //  0 magic "FLFC"
        0x01,  //  4 version 1
        0x03,  //  5 k = 3
        0x05,  //  6 n = 5
        0x04,  //  7 slice number 4 (parity)
        0x00, 0x00, 0x01, 0x2C,  //  8 group number 300
        0x00, 0x00, 0x00, 0x0A,  // 12 group bytes 10 (≤ 3 × 4)
        0x00, 0x04,  // 16 slice bytes 4
        0x00, 0x01,  // 18 flags: start of stream
        0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x42, 0x40,  // 20 media time 1 000 000 µs
        0x00, 0x00, 0x00, 0x00,  // 28 reserved
        0xDE, 0xAD, 0xBE, 0xEF,  // 32 slice
    ]

    /// An end-of-stream packet for group 7, 32 bytes.
    static let endOfStreamBytes: [UInt8] = [
        0x46, 0x4C, 0x46, 0x43,  //  0 magic "FLFC"
        0x01, 0x00, 0x00, 0x00,  //  4 version 1, k = n = slice number = 0
        0x00, 0x00, 0x00, 0x07,  //  8 group number 7
        0x00, 0x00, 0x00, 0x00,  // 12 group bytes 0
        0x00, 0x00,  // 16 slice bytes 0
        0x00, 0x02,  // 18 flags: end of stream
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 20 media time 0
        0x00, 0x00, 0x00, 0x00,  // 28 reserved
    ]
}

/// `bytes` with the bytes at the given offsets replaced.
func patching(_ changes: [Int: UInt8], in bytes: [UInt8]) -> [UInt8] {
    var result = bytes
    for (offset, value) in changes {
        result[offset] = value
    }
    return result
}

/// A datagram `FECPacket(parsing:)` must refuse, and the error it must give.
struct RejectedDatagram: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var error: FECPacket.ParseError

    var testDescription: String { name }

    static let all: [RejectedDatagram] = {
        let valid = SmallPacket.bytes
        let endOfStream = SmallPacket.endOfStreamBytes
        return [
            RejectedDatagram(name: "empty", bytes: [], error: .tooShort(length: 0)),
            RejectedDatagram(name: "31 bytes", bytes: Array(valid.prefix(31)), error: .tooShort(length: 31)),
            RejectedDatagram(
                name: "bad magic",
                bytes: patching([3: 0x44], in: valid),
                error: .badMagic(0x464C_4644)
            ),
            RejectedDatagram(name: "version 0", bytes: patching([4: 0], in: valid), error: .unknownVersion(0)),
            RejectedDatagram(name: "version 2", bytes: patching([4: 2], in: valid), error: .unknownVersion(2)),
            RejectedDatagram(
                name: "k = 0",
                bytes: patching([5: 0], in: valid),
                error: .invalidSliceCounts(dataSlices: 0, totalSlices: 5)
            ),
            RejectedDatagram(
                name: "k = n",
                bytes: patching([5: 5], in: valid),
                error: .invalidSliceCounts(dataSlices: 5, totalSlices: 5)
            ),
            RejectedDatagram(
                name: "k > n",
                bytes: patching([5: 6], in: valid),
                error: .invalidSliceCounts(dataSlices: 6, totalSlices: 5)
            ),
            RejectedDatagram(
                name: "slice number = n",
                bytes: patching([7: 5], in: valid),
                error: .sliceNumberOutOfRange(sliceNumber: 5, totalSlices: 5)
            ),
            RejectedDatagram(
                name: "slice bytes 0",
                bytes: Array(patching([17: 0], in: valid).prefix(32)),
                error: .emptySlice
            ),
            RejectedDatagram(
                name: "one byte too many",
                bytes: valid + [0],
                error: .lengthMismatch(length: 37, expected: 36)
            ),
            RejectedDatagram(
                name: "one byte too few",
                bytes: Array(valid.dropLast()),
                error: .lengthMismatch(length: 35, expected: 36)
            ),
            RejectedDatagram(
                name: "slice bytes larger than the slice",
                bytes: patching([17: 5], in: valid),
                error: .lengthMismatch(length: 36, expected: 37)
            ),
            RejectedDatagram(
                name: "group bytes > k × slice bytes",
                bytes: patching([15: 13], in: valid),
                error: .groupTooLarge(groupBytes: 13, capacity: 12)
            ),
            RejectedDatagram(
                name: "end of stream with k",
                bytes: patching([5: 1], in: endOfStream),
                error: .endOfStreamWithSlice
            ),
            RejectedDatagram(
                name: "end of stream with n",
                bytes: patching([6: 2], in: endOfStream),
                error: .endOfStreamWithSlice
            ),
            RejectedDatagram(
                name: "end of stream with a slice number",
                bytes: patching([7: 1], in: endOfStream),
                error: .endOfStreamWithSlice
            ),
            RejectedDatagram(
                name: "end of stream with a slice",
                bytes: patching([17: 1], in: endOfStream) + [0xAA],
                error: .endOfStreamWithSlice
            ),
            RejectedDatagram(
                name: "end of stream with group bytes",
                bytes: patching([15: 1], in: endOfStream),
                error: .endOfStreamWithSlice
            ),
            RejectedDatagram(
                name: "end of stream with trailing bytes",
                bytes: endOfStream + [0],
                error: .lengthMismatch(length: 33, expected: 32)
            ),
        ]
    }()
}

@Suite("FECPacket")
struct FECPacketTests {
    @Test func smallPacketSerialisesToTheDocumentedBytes() {
        #expect(FECPacket.headerLength == 32)
        #expect(SmallPacket.packet.serialized() == SmallPacket.bytes)
        #expect(SmallPacket.packet.sliceBytes == 4)
    }

    @Test func smallPacketParsesFromTheDocumentedBytes() throws {
        let packet = try FECPacket(parsing: SmallPacket.bytes)
        #expect(packet == SmallPacket.packet)
        #expect(!packet.isEndOfStream)
    }

    @Test func dataPacketWithExtremeFieldsRoundTrips() throws {
        var generator = SeededGenerator(seed: 1472)
        let packet = FECPacket(
            dataSlices: 254,
            totalSlices: 255,
            sliceNumber: 254,
            groupNumber: .max,
            groupBytes: 254 * 1440,
            flags: .startOfStream,
            mediaTimeMicroseconds: .max,
            slice: generator.bytes(1440)
        )
        let bytes = packet.serialized()

        #expect(bytes.count == FECPacket.headerLength + 1440)
        #expect(try FECPacket(parsing: bytes) == packet)
    }

    @Test func endOfStreamPacketRoundTrips() throws {
        let packet = FECPacket.endOfStream(groupNumber: 7)
        #expect(packet.isEndOfStream)
        #expect(packet.slice.isEmpty)
        #expect(packet.serialized() == SmallPacket.endOfStreamBytes)

        let parsed = try FECPacket(parsing: SmallPacket.endOfStreamBytes)
        #expect(parsed == packet)
        #expect(parsed.isEndOfStream)
    }

    @Test func endOfStreamCarriesItsMediaTime() throws {
        let packet = FECPacket.endOfStream(groupNumber: 0, mediaTimeMicroseconds: 0x0102_0304_0506_0708)
        let bytes = packet.serialized()

        #expect(Array(bytes[20..<28]) == [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
        #expect(try FECPacket(parsing: bytes) == packet)
    }

    @Test func reservedFieldAndUnknownFlagsAreIgnored() throws {
        // Flags 0x8001: an unknown bit 15 plus start of stream; reserved bytes set.
        let bytes = patching([18: 0x80, 28: 0xFF, 31: 0x01], in: SmallPacket.bytes)
        let packet = try FECPacket(parsing: bytes)

        #expect(packet.flags.contains(.startOfStream))
        #expect(!packet.isEndOfStream)
        #expect(packet.slice == SmallPacket.packet.slice)
        // What is written again has the reserved field zeroed and the flag bits kept.
        #expect(packet.serialized() == patching([18: 0x80], in: SmallPacket.bytes))
    }

    @Test func groupFillingItsSlicesExactlyIsAccepted() throws {
        let bytes = patching([15: 12], in: SmallPacket.bytes)
        #expect(try FECPacket(parsing: bytes).groupBytes == 12)
    }

    @Test(arguments: RejectedDatagram.all)
    func parsingRefuses(datagram: RejectedDatagram) {
        #expect(throws: datagram.error) {
            try FECPacket(parsing: datagram.bytes)
        }
    }

    @Test func rejectionsDescribeThemselves() {
        #expect(FECPacket.ParseError.tooShort(length: 31).description.contains("31"))
        #expect(FECPacket.ParseError.badMagic(0x464C_4644).description.contains("464C4644"))
        #expect(FECPacket.ParseError.lengthMismatch(length: 35, expected: 36).description.contains("36"))
        #expect(RejectedDatagram.all.allSatisfy { !$0.error.description.isEmpty })
    }
}
