/// One complete MPEG audio frame found by ``MPEGFrameSynchronizer``: its header and what it carries.
///
/// The frame's bytes stay in the caller's buffer; this value only describes them, so it is cheap to copy and
/// to hand across tasks.
public struct MPEGFrame: Sendable, Hashable {
    /// The parsed 4-byte header.
    public var header: MPEGFrameHeader
    /// Audio, or a Xing/Info/VBRI tag frame. Tag frames carry no audio: consumers do not count their duration.
    public var kind: MPEGFrameKind

    /// The whole frame in bytes, header and padding included.
    public var length: Int { header.frameLength }

    public init(header: MPEGFrameHeader, kind: MPEGFrameKind) {
        self.header = header
        self.kind = kind
    }
}
