/// A frame header that a ``FrameSynchronizer`` can find in a byte stream: a fixed-size header that starts with a
/// sync word and states the length of its frame.
public protocol FrameHeader: Sendable, Hashable {
    /// Bytes needed to parse a header (4 for MPEG audio, 7 for ADTS).
    static var byteCount: Int { get }
    /// The longest frame any valid header describes, header included.
    static var maximumFrameLength: Int { get }

    /// Parses the header at `offset`, or `nil` when those bytes are not a valid header.
    /// - Precondition: `offset + byteCount <= bytes.count`.
    init?(_ bytes: UnsafeRawBufferPointer, at offset: Int)

    /// Whether the bytes from `offset` to the end of `bytes` (up to `byteCount`) could begin a valid header.
    /// Checks what is available and gives the benefit of the doubt for what is not, so a search skips a stray
    /// sync byte without waiting for bytes that cannot change the answer.
    static func couldStart(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool

    /// The whole frame in bytes, header included.
    var frameLength: Int { get }

    /// Whether `other` belongs to the same stream: two consecutive valid headers that agree confirm a sync, and a
    /// header that does not agree with the locked stream means the sync was false or the stream changed.
    func isCompatible(with other: Self) -> Bool
}

/// A whole frame a ``FrameSynchronizer`` reports: its header and whatever the format learns from the frame's bytes.
public protocol SynchronizableFrame: Sendable, Hashable {
    associatedtype Header: FrameHeader

    /// Describes the complete frame at the front of `bytes`.
    /// - Precondition: `bytes.count >= header.frameLength`.
    init(header: Header, classifying bytes: UnsafeRawBufferPointer)

    var header: Header { get }
}

extension SynchronizableFrame {
    /// The whole frame in bytes.
    public var length: Int { header.frameLength }
}
