import NIOCore

/// An ID3v2.4 tag, as HLS carries titles: timed metadata in a transport stream's ID3 stream, or the timestamp
/// tag at the head of a packed-audio segment (RFC 8216 §3.4).
///
/// ```
///  "ID3" 04 00 flags=00 size(4, syncsafe)
///  frame: id(4) size(4, syncsafe) flags(2)=00 00 body
/// ```
public struct ID3Tag: Sendable, Equatable {
    /// Frames in order: id and body.
    public var frames: [(id: String, body: [UInt8])]

    public init(frames: [(id: String, body: [UInt8])] = []) {
        self.frames = frames
    }

    public static func == (lhs: ID3Tag, rhs: ID3Tag) -> Bool {
        lhs.frames.elementsEqual(rhs.frames) { $0.id == $1.id && $0.body == $1.body }
    }

    /// A text information frame (`TIT2`, `TPE1`), UTF-8.
    public mutating func addText(_ id: String, _ text: String) {
        frames.append((id, [0x03] + Array(text.utf8)))
    }

    /// A user-defined text frame (`TXXX`): a description and a value, UTF-8.
    public mutating func addUserText(description: String, value: String) {
        frames.append(("TXXX", [0x03] + Array(description.utf8) + [0] + Array(value.utf8)))
    }

    /// A private frame (`PRIV`): an owner identifier and binary data.
    public mutating func addPrivate(owner: String, data: [UInt8]) {
        frames.append(("PRIV", Array(owner.utf8) + [0] + data))
    }

    /// The tag for a stream title: `TIT2` and `TPE1` split at the first " - " (as stations write
    /// `Artist - Title`), or the whole title as `TIT2`; and `TXXX` `StreamTitle` with the title as sent.
    public static func streamTitle(_ title: String) -> ID3Tag {
        var tag = ID3Tag()
        if let dash = title.range(of: " - ") {
            tag.addText("TIT2", String(title[dash.upperBound...]))
            tag.addText("TPE1", String(title[..<dash.lowerBound]))
        } else {
            tag.addText("TIT2", title)
        }
        tag.addUserText(description: "StreamTitle", value: title)
        return tag
    }

    /// The packed-audio timestamp tag: `PRIV` `com.apple.streaming.transportStreamTimestamp` with the first
    /// sample's 33-bit PTS (90 kHz) in eight big-endian bytes.
    public static func transportStreamTimestamp(_ pts: Int64) -> ID3Tag {
        var tag = ID3Tag()
        let value = UInt64(bitPattern: pts) & 0x1_FFFF_FFFF
        tag.addPrivate(owner: "com.apple.streaming.transportStreamTimestamp", data: (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) })
        return tag
    }

    /// The encoded tag.
    public var bytes: [UInt8] {
        var body: [UInt8] = []
        for frame in frames {
            body += Array(frame.id.utf8.prefix(4))
            body += Self.syncsafe(frame.body.count)
            body += [0, 0]
            body += frame.body
        }
        return Array("ID3".utf8) + [0x04, 0x00, 0x00] + Self.syncsafe(body.count) + body
    }

    /// Seven bits a byte, most significant first (sizes up to 256 MiB).
    static func syncsafe(_ value: Int) -> [UInt8] {
        [UInt8((value >> 21) & 0x7F), UInt8((value >> 14) & 0x7F), UInt8((value >> 7) & 0x7F), UInt8(value & 0x7F)]
    }
}
