import NIOCore

/// A run of whole frames published to a mount's listeners as one unit.
///
/// Blocks are the unit of sharing: each holds one `ByteBuffer` that every listener writes by reference. A block
/// always starts on a frame boundary (for framed formats), which is what makes burst-on-connect and cuts between
/// sources frame-accurate.
public struct StreamBlock: Sendable {
    /// Position in the mount's sequence; consecutive blocks have consecutive numbers.
    public var sequence: Int
    /// The stream bytes.
    public var bytes: ByteBuffer
    /// The title current when these bytes were produced.
    public var metadata: ICYMetadata
    /// Frames inside `bytes`, in order; empty for pass-through (unframed) formats.
    public var frames: [FrameSpan]
    /// The stream header a listener must have before these bytes (Ogg header pages); `nil` for formats without.
    public var streamHeader: StreamHeader?
    /// The mount's source generation that produced the block.
    public var generation: Int
    /// Whether `bytes` starts with `streamHeader` itself (a new Ogg chain): listeners reaching this block get the
    /// header in-band and must not be sent it separately.
    public var beginsWithHeader: Bool
    /// Whether a listener may start with this block: always, except a WebM block that does not open with a
    /// keyframe cluster.
    public var isJoinPoint: Bool

    /// Play time from the stream's own timestamps when it has no frames (an Ogg block's granule positions, a
    /// WebM block's cluster Timecodes).
    public var mediaDuration: Duration?

    /// The block's play time by the frame clock: the sum of its frames' durations; for unframed formats, their
    /// `mediaDuration`, or `nil` when their stream does not say.
    public var playTime: Duration? {
        guard !frames.isEmpty else { return mediaDuration }
        var total = Duration.zero
        for frame in frames { total += frame.duration }
        return total
    }

    public init(
        sequence: Int,
        bytes: ByteBuffer,
        metadata: ICYMetadata,
        frames: [FrameSpan] = [],
        streamHeader: StreamHeader? = nil,
        beginsWithHeader: Bool = false,
        isJoinPoint: Bool = true,
        mediaDuration: Duration? = nil,
        generation: Int = 0
    ) {
        self.mediaDuration = mediaDuration
        self.generation = generation
        self.sequence = sequence
        self.bytes = bytes
        self.metadata = metadata
        self.frames = frames
        self.streamHeader = streamHeader
        self.beginsWithHeader = beginsWithHeader
        self.isJoinPoint = isJoinPoint
    }
}

/// Header bytes every listener must receive before a stream's data (the Ogg header pages of a chain).
public struct StreamHeader: Sendable, Equatable {
    /// Distinguishes successive headers of one source (each Ogg chain gets a new one).
    public var id: Int
    public var bytes: ByteBuffer

    public init(id: Int, bytes: ByteBuffer) {
        self.id = id
        self.bytes = bytes
    }
}

/// Where a frame sits inside a block, and when it plays.
public struct FrameSpan: Sendable, Equatable {
    /// Offset of the frame's first byte within the block.
    public var offset: Int
    /// Frame length in bytes.
    public var length: Int
    /// Media time of the frame's first sample, from the start of its source.
    public var mediaTime: Duration
    /// Play time of the frame (zero for Xing/Info/VBRI frames, which carry no audio).
    public var duration: Duration

    public init(offset: Int, length: Int, mediaTime: Duration, duration: Duration) {
        self.offset = offset
        self.length = length
        self.mediaTime = mediaTime
        self.duration = duration
    }
}
