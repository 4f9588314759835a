import NIOCore

/// One ICY metadata block, encoded once and shared by every listener that receives it.
///
/// ```
///  +--------+---------------------------------------------+
///  | L (u8) | StreamTitle='…';  NUL padding to L × 16      |
///  +--------+---------------------------------------------+
/// ```
/// L = ⌈(payload + 1 NUL) / 16⌉, at most 255 (4080 bytes). Apostrophes are not escaped: Icecast 2.4 sends them
/// as they are and players expect that.
public struct ICYMetadata: Sendable, Equatable {
    /// Increases with every update on a mount, so a listener can tell whether it has sent this block already.
    public var version: Int
    /// The title as shown to people (`artist - title`, or the song).
    public var title: String
    /// The encoded block, length byte included.
    public var encoded: ByteBuffer

    /// Largest payload a block can carry.
    public static let maximumPayloadBytes = 255 * 16

    /// The single `\0` sent at a metadata point when the title has not changed.
    public static let unchanged: ByteBuffer = ByteBuffer(bytes: [0])

    /// Encodes `title` as UTF-8. Returns `nil` when it does not fit in 4080 bytes (Icecast drops such updates
    /// with "Metadata too long").
    public init?(version: Int, title: String) {
        let payload = Array("StreamTitle='\(title)';".utf8)
        let blocks = (payload.count + 1 + 15) / 16
        guard blocks <= 255 else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: 1 + blocks * 16)
        buffer.writeInteger(UInt8(blocks))
        buffer.writeBytes(payload)
        buffer.writeRepeatingByte(0, count: blocks * 16 - payload.count)
        self.version = version
        self.title = title
        self.encoded = buffer
    }

    /// The block a mount starts with: an empty title, which Icecast sends to new listeners as `StreamTitle='';`.
    public static let empty = ICYMetadata(version: 0, title: "")!
}
