/// Finding Ogg pages (RFC 3533) at the front of a byte stream, so Ogg streams are relayed in whole pages and
/// their header pages can be replayed to listeners who join late.
///
/// ```
///  0      4    5      6                14       18         22     26       27
///  +------+----+------+----------------+--------+----------+------+--------+----------------+---------+
///  | OggS | v0 | type | granule (LE64) | serial | sequence | CRC  | nsegs  | segment table  | body …  |
///  +------+----+------+----------------+--------+----------+------+--------+----------------+---------+
///  type: 0x01 continued packet, 0x02 beginning of stream (BOS), 0x04 end of stream (EOS)
///  page length = 27 + nsegs + sum(segment table)
/// ```
public struct OggPage: Sendable, Equatable {
    /// Whole page length in bytes.
    public var length: Int
    /// Granule position; `UInt64.max` (-1) when no packet ends on this page.
    public var granulePosition: UInt64
    /// Header type flags.
    public var flags: UInt8
    /// Logical stream serial number.
    public var serial: UInt32

    public var isBeginningOfStream: Bool { flags & 0x02 != 0 }
    public var isEndOfStream: Bool { flags & 0x04 != 0 }

    /// What the front of `bytes` holds.
    public enum Scan: Sendable, Equatable {
        /// A whole page of `page.length` bytes.
        case page(OggPage)
        /// Not a page (no capture pattern, or a page whose CRC does not match): drop this many bytes (up to the
        /// next possible "OggS").
        case garbage(Int)
        case needMoreData
    }

    /// Looks at the front of `bytes`. Pages are at most 27 + 255 + 255 × 255 bytes (65,307).
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> Scan {
        let capture: [UInt8] = Array("OggS".utf8)
        guard bytes.count >= 4 else { return .needMoreData }
        guard bytes[0] == capture[0], bytes[1] == capture[1], bytes[2] == capture[2], bytes[3] == capture[3] else {
            var index = 1
            while index + 4 <= bytes.count {
                if bytes[index] == capture[0], bytes[index + 1] == capture[1], bytes[index + 2] == capture[2],
                    bytes[index + 3] == capture[3]
                {
                    return .garbage(index)
                }
                index += 1
            }
            return .garbage(max(1, bytes.count - 3))
        }
        guard bytes.count >= 27 else { return .needMoreData }
        guard bytes[4] == 0 else { return .garbage(1) }
        let segments = Int(bytes[26])
        guard bytes.count >= 27 + segments else { return .needMoreData }
        var bodyLength = 0
        for index in 0..<segments { bodyLength += Int(bytes[27 + index]) }
        let length = 27 + segments + bodyLength
        guard bytes.count >= length else { return .needMoreData }
        // The CRC (initial value 0) covers the whole page with its own field read as zeros.
        let stored = UInt32(bytes[22]) | UInt32(bytes[23]) << 8 | UInt32(bytes[24]) << 16 | UInt32(bytes[25]) << 24
        var crc = CRC32.update(0, UnsafeRawBufferPointer(rebasing: bytes[0..<22]))
        crc = CRC32.update(crc, [0, 0, 0, 0] as [UInt8])
        crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: bytes[26..<length]))
        guard crc == stored else { return .garbage(1) }
        var granule: UInt64 = 0
        for index in 0..<8 { granule |= UInt64(bytes[6 + index]) << (8 * UInt64(index)) }
        var serial: UInt32 = 0
        for index in 0..<4 { serial |= UInt32(bytes[14 + index]) << (8 * UInt32(index)) }
        return .page(OggPage(length: length, granulePosition: granule, flags: bytes[5], serial: serial))
    }
}
