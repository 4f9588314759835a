/// What a frame carries.
///
/// Encoders put a tag in the first frame of a file: LAME writes "Xing" (VBR) or "Info" (CBR) after the side
/// information, Fraunhofer writes "VBRI" at a fixed offset. Such a frame is a valid, decodable frame of silence
/// to old decoders, but it holds no audio: consumers must not count its duration, and players skip it.
public enum MPEGFrameKind: Sendable, Hashable {
    /// An ordinary audio frame.
    case audio
    /// A LAME/Xing tag frame, "Xing" or "Info".
    case xingInfo
    /// A Fraunhofer VBRI tag frame.
    case vbri
}

extension MPEGFrameKind {
    /// Byte offset of the VBRI tag: always 32 bytes after the 4-byte header, whatever the version or mode.
    static let vbriOffset = 36

    /// Classifies the complete frame at the front of `frame`.
    ///
    /// Only Layer III frames carry these tags. The Xing/Info tag sits right after the side information, at
    /// `4 + sideInformationSize`; like LAME and mpg123 we do not add 2 for a CRC, since encoders that write the
    /// tag do not put it after the CRC word.
    ///
    /// - Precondition: `frame.count >= header.frameLength`.
    init(classifying frame: UnsafeRawBufferPointer, header: MPEGFrameHeader) {
        guard header.layer == .layer3 else {
            self = .audio
            return
        }
        let length = header.frameLength
        let xingOffset = 4 + header.sideInformationSize
        if Self.hasTag(in: frame, at: xingOffset, limit: length, "X", "i", "n", "g")
            || Self.hasTag(in: frame, at: xingOffset, limit: length, "I", "n", "f", "o")
        {
            self = .xingInfo
        } else if Self.hasTag(in: frame, at: Self.vbriOffset, limit: length, "V", "B", "R", "I") {
            self = .vbri
        } else {
            self = .audio
        }
    }

    /// Whether the four ASCII bytes `a b c d` sit at `offset`, wholly inside the first `limit` bytes.
    private static func hasTag(
        in bytes: UnsafeRawBufferPointer,
        at offset: Int,
        limit: Int,
        _ a: Unicode.Scalar,
        _ b: Unicode.Scalar,
        _ c: Unicode.Scalar,
        _ d: Unicode.Scalar
    ) -> Bool {
        guard offset + 4 <= limit, offset + 4 <= bytes.count else { return false }
        return bytes[offset] == UInt8(ascii: a) && bytes[offset + 1] == UInt8(ascii: b)
            && bytes[offset + 2] == UInt8(ascii: c) && bytes[offset + 3] == UInt8(ascii: d)
    }
}
