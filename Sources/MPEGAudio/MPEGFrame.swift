/// One complete MPEG audio frame found by ``MPEGFrameSynchronizer``: its header and what it carries.
///
/// The frame's bytes stay in the caller's buffer; this value only describes them, so it is cheap to copy and
/// to hand across tasks.
public struct MPEGFrame: SynchronizableFrame {
    /// The parsed 4-byte header.
    public var header: MPEGFrameHeader
    /// Audio, or a Xing/Info/VBRI tag frame. Tag frames carry no audio: consumers do not count their duration.
    public var kind: MPEGFrameKind

    public init(header: MPEGFrameHeader, kind: MPEGFrameKind) {
        self.header = header
        self.kind = kind
    }

    public init(header: MPEGFrameHeader, classifying bytes: UnsafeRawBufferPointer) {
        self.init(header: header, kind: MPEGFrameKind(classifying: bytes, header: header))
    }
}

/// Finds MPEG audio frames: ``FrameSynchronizer`` with MPEG headers and Xing/Info/VBRI classification.
public typealias MPEGFrameSynchronizer = FrameSynchronizer<MPEGFrame>
