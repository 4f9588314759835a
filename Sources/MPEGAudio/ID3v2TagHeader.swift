/// The 10-byte header of an ID3v2 tag, which sources and files put before (and sometimes between) MPEG frames.
///
/// ```
///    0   1   2    3     4      5      6     7     8     9
///  +---+---+---+-----+-----+-------+-----+-----+-----+-----+
///  | I | D | 3 | ver | rev | flags | 0sssssss (x4): size  |
///  +---+---+---+-----+-----+-------+-----+-----+-----+-----+
///   ver, rev < 0xFF    flags & 0x10: a 10-byte footer ("3DI") follows the tag body
///   size: 28-bit "syncsafe" integer, 7 bits per byte, high bit always 0; it excludes header and footer
/// ```
///
/// Only the header is read: the tag body is skipped unexamined, since it may contain anything, including bytes
/// that look like frame headers (embedded pictures are often MP3s' album art).
struct ID3v2TagHeader: Sendable, Hashable {
    /// The header is always 10 bytes.
    static let length = 10

    /// What the bytes at the front of a buffer are.
    enum Match: Sendable, Hashable {
        /// A complete, valid tag header; the whole tag (header, body, footer) is `totalLength` bytes.
        case tag(totalLength: Int)
        /// Every available byte fits a tag header, but fewer than 10 are available.
        case incomplete
        /// Not a tag header.
        case none
    }

    /// Matches the bytes from `offset` against a tag header.
    ///
    /// Each byte is checked as soon as it is available, so text that merely starts with "I" is rejected at
    /// once. At end of stream a header that cannot complete is ``Match/none``.
    static func match(_ bytes: UnsafeRawBufferPointer, at offset: Int, isEndOfStream: Bool) -> Match {
        let available = min(bytes.count - offset, length)
        for index in 0..<available where !accepts(bytes[offset + index], at: index) {
            return .none
        }
        guard available == length else { return isEndOfStream ? .none : .incomplete }
        var size = 0
        for index in 6..<10 {
            size = size << 7 | Int(bytes[offset + index])
        }
        let hasFooter = bytes[offset + 5] & 0x10 != 0
        return .tag(totalLength: length + size + (hasFooter ? length : 0))
    }

    /// Whether `byte` may appear at `index` (0..<10) of a tag header.
    @inline(__always)
    private static func accepts(_ byte: UInt8, at index: Int) -> Bool {
        switch index {
        case 0: byte == UInt8(ascii: "I")
        case 1: byte == UInt8(ascii: "D")
        case 2: byte == UInt8(ascii: "3")
        case 3, 4: byte != 0xFF
        case 5: true
        default: byte < 0x80
        }
    }
}
