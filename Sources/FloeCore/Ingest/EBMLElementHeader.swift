/// The ID and size that start every EBML element (RFC 8794), the container syntax of Matroska and WebM.
///
/// ```
///  ID:   1–4 bytes, a variable-length integer kept with its length marker: 0x1A45DFA3 (EBML), 0x1F43B675 (Cluster)
///  size: 1–8 bytes, a variable-length integer without its marker; all value bits set means "unknown size"
///        1xxxxxxx                      7 bits
///        01xxxxxx xxxxxxxx             14 bits
///        …
///        00000001 xxxxxxxx ×7          56 bits
/// ```
public struct EBMLElementHeader: Sendable, Equatable {
    public var id: UInt32
    /// The body's length; `nil` for an unknown size (a live stream's Segment, a streamed Cluster).
    public var size: UInt64?
    /// Bytes of ID and size together.
    public var length: Int

    /// What the front of some bytes holds.
    public enum Read: Sendable, Equatable {
        case header(EBMLElementHeader)
        /// Not an element header (an impossible length marker).
        case invalid
        case needMoreData
    }

    /// Reads the element header at `offset`.
    public static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> Read {
        guard offset < bytes.count else { return .needMoreData }
        let idLength = Self.vintLength(bytes[offset])
        guard idLength >= 1, idLength <= 4 else { return .invalid }
        guard offset + idLength < bytes.count else { return .needMoreData }
        var id: UInt32 = 0
        for index in 0..<idLength { id = id << 8 | UInt32(bytes[offset + index]) }
        let sizeLength = Self.vintLength(bytes[offset + idLength])
        guard sizeLength >= 1 else { return .invalid }
        guard let size = vint(bytes, at: offset + idLength, end: bytes.count) else { return .needMoreData }
        let unknown = size.value == (UInt64(1) << UInt64(7 * sizeLength)) - 1
        return .header(EBMLElementHeader(id: id, size: unknown ? nil : size.value, length: idLength + sizeLength))
    }

    /// A variable-length integer's value (without its length marker) and length at `offset`; `nil` when its first
    /// byte is 0x00 or it does not end before `end`.
    static func vint(_ bytes: UnsafeRawBufferPointer, at offset: Int, end: Int) -> (value: UInt64, length: Int)? {
        guard offset < end else { return nil }
        let length = vintLength(bytes[offset])
        guard length >= 1, offset + length <= end else { return nil }
        var value = UInt64(bytes[offset]) & (0xFF >> UInt64(length))
        for index in 1..<length { value = value << 8 | UInt64(bytes[offset + index]) }
        return (value, length)
    }

    /// A variable-length integer's length from its first byte: one more than its leading zero bits; 0 for 0x00.
    static func vintLength(_ first: UInt8) -> Int {
        first == 0 ? 0 : first.leadingZeroBitCount + 1
    }
}

/// The Matroska element IDs Floe looks at.
public enum MatroskaID {
    public static let ebml: UInt32 = 0x1A45_DFA3
    public static let segment: UInt32 = 0x1853_8067
    public static let seekHead: UInt32 = 0x114D_9B74
    public static let info: UInt32 = 0x1549_A966
    public static let tracks: UInt32 = 0x1654_AE6B
    public static let tags: UInt32 = 0x1254_C367
    public static let cues: UInt32 = 0x1C53_BB6B
    public static let chapters: UInt32 = 0x1043_A770
    public static let attachments: UInt32 = 0x1941_A469
    public static let cluster: UInt32 = 0x1F43_B675
    public static let void: UInt32 = 0xEC
    public static let crc32: UInt32 = 0xBF
    public static let simpleBlock: UInt32 = 0xA3
    public static let blockGroup: UInt32 = 0xA0

    /// Children of a Segment (and the EBML header that starts a new one): in a cluster of unknown size, the first
    /// of these ends the cluster.
    static let segmentLevel: Set<UInt32> = [ebml, segment, seekHead, info, tracks, tags, cues, chapters, attachments, cluster]
}
