/// One UDP datagram of Floe's FEC stream: a 32-byte header followed by one slice of an FEC group.
///
/// The sender cuts the stream into *groups* of whole MP3 frames, pads each group with zeros to k equal slices,
/// adds n − k parity slices with `ErasureCode`, and sends every slice in its own packet. A receiver that gets
/// any k packets of a group recovers the group. The format is Floe's own: it has the shape of paraslash's FEC
/// header but is not wire-compatible with it. All multi-byte fields are big-endian (network byte order).
///
/// ```
///   0                   1                   2                   3
///   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///  +---------------------------------------------------------------+
///  |                 magic "FLFC" = 0x46 0x4C 0x46 0x43            |  0
///  +---------------+---------------+---------------+---------------+
///  |  version = 1  |       k       |       n       | slice number  |  4
///  +---------------+---------------+---------------+---------------+
///  |                          group number                         |  8
///  +---------------------------------------------------------------+
///  |                          group bytes                          | 12
///  +-------------------------------+-------------------------------+
///  |          slice bytes          |             flags             | 16
///  +-------------------------------+-------------------------------+
///  |                                                               | 20
///  +--                group media time (microseconds)            --+
///  |                                                               | 24
///  +---------------------------------------------------------------+
///  |                          reserved = 0                         | 28
///  +---------------------------------------------------------------+
///  |                   slice (slice bytes bytes) ...               | 32
///  +---------------------------------------------------------------+
/// ```
///
/// | Offset | Size | Field            | Meaning                                                              |
/// |-------:|-----:|------------------|----------------------------------------------------------------------|
/// |      0 |    4 | magic            | ASCII "FLFC" (0x464C4643)                                            |
/// |      4 |    1 | version          | 1                                                                    |
/// |      5 |    1 | k                | data slices per group, 1 ≤ k < n                                     |
/// |      6 |    1 | n                | slices per group, data plus parity, n ≤ 255                          |
/// |      7 |    1 | slice number     | 0..<n; below k a data slice, from k on a parity slice                |
/// |      8 |    4 | group number     | counts groups, wraps from 2³² − 1 to 0                               |
/// |     12 |    4 | group bytes      | payload bytes of the group before zero padding, ≤ k · slice bytes    |
/// |     16 |    2 | slice bytes      | length of the slice that follows the header, > 0                     |
/// |     18 |    2 | flags            | bit 0 start of stream, bit 1 end of stream, others 0                 |
/// |     20 |    8 | group media time | microseconds from the start of the sender's stream to when the       |
/// |        |      |                  | group's first frame plays                                            |
/// |     28 |    4 | reserved         | 0 when sent, ignored when received                                   |
/// |     32 |    … | slice            | slice bytes bytes of the slice                                       |
///
/// An *end-of-stream* packet (flag bit 1) tells receivers the sender stopped on purpose, so they need not wait
/// for the missing slices of a group. It carries no slice: k, n, slice number, slice bytes and group bytes are
/// all 0, and the packet is exactly 32 bytes.
///
/// Unknown flag bits and the reserved field are ignored by receivers so that later versions can use them.
public struct FECPacket: Sendable, Equatable {
    /// The header's length in bytes; the slice starts at this offset.
    public static let headerLength = 32
    /// "FLFC" in ASCII, the first four bytes of every packet.
    public static let magic: UInt32 = 0x464C_4643
    /// The format version this type writes and the only one it reads.
    public static let version: UInt8 = 1

    /// The header's flag bits.
    public struct Flags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt16

        public init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        /// This group is the first one after the sender started or restarted. Group numbers and media times may
        /// start afresh here, so a receiver must not read a jump in them as lost groups.
        public static let startOfStream = Flags(rawValue: 1 << 0)
        /// An end-of-stream packet, which carries no slice (see `FECPacket.endOfStream(groupNumber:)`).
        public static let endOfStream = Flags(rawValue: 1 << 1)
    }

    /// k: the number of data slices in the group. 0 in an end-of-stream packet.
    public var dataSlices: UInt8
    /// n: the number of slices in the group, data plus parity. 0 in an end-of-stream packet.
    public var totalSlices: UInt8
    /// Which slice of the group this is: 0..<k data, k..<n parity.
    public var sliceNumber: UInt8
    /// The group's sequence number; it wraps around.
    public var groupNumber: UInt32
    /// The group's payload length before it was padded to k · slice length; the receiver cuts the decoded group
    /// to this length.
    public var groupBytes: UInt32
    /// Start- and end-of-stream markers.
    public var flags: Flags
    /// Microseconds from the start of the sender's stream to when the group's first frame plays.
    public var mediaTimeMicroseconds: UInt64
    /// The slice itself. Every slice of a group has the same length, at most 65 535 bytes.
    public var slice: [UInt8]

    /// The number of slice bytes, as written at offset 16.
    public var sliceBytes: Int { slice.count }

    /// Whether this is an end-of-stream packet rather than a slice.
    public var isEndOfStream: Bool { flags.contains(.endOfStream) }

    /// A packet with the given fields. Nothing is checked here; `init(parsing:)` checks what arrives.
    public init(
        dataSlices: UInt8,
        totalSlices: UInt8,
        sliceNumber: UInt8,
        groupNumber: UInt32,
        groupBytes: UInt32,
        flags: Flags = [],
        mediaTimeMicroseconds: UInt64,
        slice: [UInt8]
    ) {
        self.dataSlices = dataSlices
        self.totalSlices = totalSlices
        self.sliceNumber = sliceNumber
        self.groupNumber = groupNumber
        self.groupBytes = groupBytes
        self.flags = flags
        self.mediaTimeMicroseconds = mediaTimeMicroseconds
        self.slice = slice
    }

    /// The end-of-stream packet sent when the sender stops on purpose. `groupNumber` is conventionally the number
    /// the next group would have had, and `mediaTimeMicroseconds` the media time at which the stream ended.
    public static func endOfStream(groupNumber: UInt32, mediaTimeMicroseconds: UInt64 = 0) -> FECPacket {
        FECPacket(
            dataSlices: 0,
            totalSlices: 0,
            sliceNumber: 0,
            groupNumber: groupNumber,
            groupBytes: 0,
            flags: .endOfStream,
            mediaTimeMicroseconds: mediaTimeMicroseconds,
            slice: []
        )
    }

    // MARK: Writing

    /// The packet's bytes: the header in network byte order, then the slice.
    ///
    /// - Precondition: the slice is at most 65 535 bytes, the most the 16-bit length field can say.
    public func serialized() -> [UInt8] {
        precondition(slice.count <= Int(UInt16.max), "a slice holds at most 65535 bytes, not \(slice.count)")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerLength + slice.count)
        bytes.appendBigEndian(Self.magic)
        bytes.append(Self.version)
        bytes.append(dataSlices)
        bytes.append(totalSlices)
        bytes.append(sliceNumber)
        bytes.appendBigEndian(groupNumber)
        bytes.appendBigEndian(groupBytes)
        bytes.appendBigEndian(UInt16(slice.count))
        bytes.appendBigEndian(flags.rawValue)
        bytes.appendBigEndian(mediaTimeMicroseconds)
        bytes.appendBigEndian(UInt32(0))
        bytes.append(contentsOf: slice)
        return bytes
    }

    // MARK: Reading

    /// Parses and checks one datagram.
    ///
    /// Anything a receiver could not use safely is refused, so that a stray or corrupt datagram never reaches
    /// the decoder: the checks guarantee 1 ≤ k < n, slice number < n, a non-empty slice of exactly the
    /// announced length, and a group that fits in its k slices. End-of-stream packets must be empty.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        guard bytes.count >= Self.headerLength else {
            throw ParseError.tooShort(length: bytes.count)
        }
        let magic = bytes.readBigEndian(UInt32.self, at: 0)
        guard magic == Self.magic else {
            throw ParseError.badMagic(magic)
        }
        guard bytes[4] == Self.version else {
            throw ParseError.unknownVersion(bytes[4])
        }
        let dataSlices = bytes[5]
        let totalSlices = bytes[6]
        let sliceNumber = bytes[7]
        let groupBytes = bytes.readBigEndian(UInt32.self, at: 12)
        let sliceBytes = Int(bytes.readBigEndian(UInt16.self, at: 16))
        let flags = Flags(rawValue: bytes.readBigEndian(UInt16.self, at: 18))

        if flags.contains(.endOfStream) {
            guard dataSlices == 0, totalSlices == 0, sliceNumber == 0, sliceBytes == 0, groupBytes == 0 else {
                throw ParseError.endOfStreamWithSlice
            }
        } else {
            guard dataSlices >= 1, dataSlices < totalSlices else {
                throw ParseError.invalidSliceCounts(dataSlices: dataSlices, totalSlices: totalSlices)
            }
            guard sliceNumber < totalSlices else {
                throw ParseError.sliceNumberOutOfRange(sliceNumber: sliceNumber, totalSlices: totalSlices)
            }
            guard sliceBytes > 0 else {
                throw ParseError.emptySlice
            }
        }
        guard bytes.count == Self.headerLength + sliceBytes else {
            throw ParseError.lengthMismatch(length: bytes.count, expected: Self.headerLength + sliceBytes)
        }
        guard Int(groupBytes) <= Int(dataSlices) * sliceBytes else {
            throw ParseError.groupTooLarge(groupBytes: groupBytes, capacity: Int(dataSlices) * sliceBytes)
        }

        self.dataSlices = dataSlices
        self.totalSlices = totalSlices
        self.sliceNumber = sliceNumber
        self.groupNumber = bytes.readBigEndian(UInt32.self, at: 8)
        self.groupBytes = groupBytes
        self.flags = flags
        self.mediaTimeMicroseconds = bytes.readBigEndian(UInt64.self, at: 20)
        self.slice = Array(bytes[Self.headerLength...])
    }
}

extension FECPacket {
    /// Why a datagram is not a usable FEC packet. Each case names the first check that failed.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// Fewer bytes than a header.
        case tooShort(length: Int)
        /// The first four bytes are not "FLFC".
        case badMagic(UInt32)
        /// A version other than 1.
        case unknownVersion(UInt8)
        /// A slice packet without 1 ≤ k < n.
        case invalidSliceCounts(dataSlices: UInt8, totalSlices: UInt8)
        /// A slice packet whose slice number is not below n.
        case sliceNumberOutOfRange(sliceNumber: UInt8, totalSlices: UInt8)
        /// A slice packet announcing a slice of 0 bytes.
        case emptySlice
        /// The datagram's length is not header plus announced slice length.
        case lengthMismatch(length: Int, expected: Int)
        /// The group claims more payload than its k slices hold.
        case groupTooLarge(groupBytes: UInt32, capacity: Int)
        /// An end-of-stream packet with a non-zero k, n, slice number, slice length or group length.
        case endOfStreamWithSlice

        public var description: String {
            switch self {
            case .tooShort(let length):
                "FEC packet of \(length) bytes is shorter than its \(FECPacket.headerLength)-byte header"
            case .badMagic(let magic):
                "FEC packet has magic 0x\(String(magic, radix: 16, uppercase: true)), not 0x464C4643 (\"FLFC\")"
            case .unknownVersion(let version):
                "FEC packet has version \(version); only version \(FECPacket.version) is understood"
            case .invalidSliceCounts(let dataSlices, let totalSlices):
                "FEC packet has k = \(dataSlices) data slices of n = \(totalSlices); 1 ≤ k < n is required"
            case .sliceNumberOutOfRange(let sliceNumber, let totalSlices):
                "FEC packet has slice number \(sliceNumber), but its group has only \(totalSlices) slices"
            case .emptySlice:
                "FEC packet announces an empty slice"
            case .lengthMismatch(let length, let expected):
                "FEC packet is \(length) bytes long, but its header announces \(expected)"
            case .groupTooLarge(let groupBytes, let capacity):
                "FEC packet's group claims \(groupBytes) bytes, but its slices hold only \(capacity)"
            case .endOfStreamWithSlice:
                "FEC end-of-stream packet has non-zero slice fields; it must carry no slice"
            }
        }
    }
}

extension [UInt8] {
    /// Appends `value` most significant byte first.
    fileprivate mutating func appendBigEndian<Value: FixedWidthInteger>(_ value: Value) {
        for shift in stride(from: Value.bitWidth - 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    /// Reads a `Value` stored most significant byte first at `offset`.
    ///
    /// - Precondition: `offset + Value.bitWidth / 8 <= count`.
    fileprivate func readBigEndian<Value: FixedWidthInteger>(_: Value.Type, at offset: Int) -> Value {
        var value: Value = 0
        for byte in self[offset..<offset + Value.bitWidth / 8] {
            value = value << 8 | Value(byte)
        }
        return value
    }
}
