import NIOCore

/// Takes in-band ICY metadata out of a stream a server sent with `icy-metaint: N`: after every N audio bytes comes
/// one length byte L and L × 16 bytes of metadata (`StreamTitle='…';` padded with NULs; L = 0 when nothing
/// changed). The inverse of ``ICYInterleaver``, for relays pulling from Icecast, SHOUTcast or Floe.
///
/// Pure and incremental: bytes go in as they arrive, in pieces of any size; audio comes out as slices of the
/// buffers given (no copies), titles as they complete. A block with no `StreamTitle` (or L = 0) yields no title.
public struct ICYDeinterleaver: Sendable {
    /// What one piece of input held, in stream order.
    public enum Part: Sendable, Equatable {
        case audio(ByteBuffer)
        /// The `StreamTitle` of a metadata block, decoded as ``MetadataUpdate`` decodes a title given without a
        /// charset (UTF-8 when valid, else ISO-8859-1), as upstream servers send either.
        case title(String)
    }

    private enum State: Sendable {
        /// This many audio bytes until the next metadata point.
        case audio(remaining: Int)
        /// At a metadata point: the length byte comes next.
        case length
        /// Collecting a block of `length` bytes.
        case metadata(length: Int, collected: [UInt8])
    }

    /// Audio bytes between metadata blocks (`icy-metaint`), at least 1.
    public let interval: Int
    private var state: State

    public init(interval: Int) {
        precondition(interval > 0, "icy-metaint must be positive")
        self.interval = interval
        self.state = .audio(remaining: interval)
    }

    /// Splits `input` into audio and titles.
    public mutating func receive(_ input: ByteBuffer) -> [Part] {
        var input = input
        var parts: [Part] = []
        while input.readableBytes > 0 {
            switch state {
            case .audio(let remaining):
                let count = min(remaining, input.readableBytes)
                parts.append(.audio(input.readSlice(length: count)!))
                state = count == remaining ? .length : .audio(remaining: remaining - count)
            case .length:
                let length = Int(input.readInteger(as: UInt8.self)!) * 16
                state = length == 0 ? .audio(remaining: interval) : .metadata(length: length, collected: [])
            case .metadata(let length, var collected):
                let count = min(length - collected.count, input.readableBytes)
                collected += input.readBytes(length: count)!
                if collected.count == length {
                    if let title = Self.streamTitle(in: collected) { parts.append(.title(title)) }
                    state = .audio(remaining: interval)
                } else {
                    state = .metadata(length: length, collected: collected)
                }
            }
        }
        return parts
    }

    /// The value of `StreamTitle='…';` in a metadata block, if present. The value ends at the first `';` (titles
    /// may hold apostrophes, which ICY does not escape), or at the padding when a server left out the `;`.
    static func streamTitle(in block: [UInt8]) -> String? {
        let text = block.prefix { $0 != 0 }
        let key = Array("StreamTitle='".utf8)
        guard let start = text.firstRange(of: key)?.upperBound else { return nil }
        let rest = text[start...]
        let end = rest.firstRange(of: Array("';".utf8))?.lowerBound
            ?? (rest.last == UInt8(ascii: "'") ? rest.index(before: rest.endIndex) : rest.endIndex)
        return MetadataUpdate.decode(Array(rest[..<end]), charset: nil)
    }
}
