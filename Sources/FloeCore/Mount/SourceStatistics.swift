/// What the frame clock and the framer say about a source, for operators checking a misbehaving encoder.
public struct SourceStatistics: Sendable, Equatable {
    /// Bytes received from the source.
    public var bytesRead: Int
    /// Frames found (MPEG audio, ADTS), all kinds.
    public var frames: Int
    /// Bytes skipped as garbage while looking for frames, and inside ID3 tags.
    public var garbageBytes: Int
    public var id3Bytes: Int
    /// Times the framer lost and found sync again.
    public var resyncs: Int
    /// Bits per media second, from the frames themselves; `nil` before any media.
    public var measuredBitrate: Int?
    /// Media seconds per wall second since the first frame (1.0 is real time).
    public var realTimeRatio: Double?
    /// Whether the source keeps real time.
    public var pace: FrameClock.Pace
    /// Play time of the frames received (framed formats), and their sample rate (the core rate for HE-AAC).
    public var mediaTime: Duration
    public var sampleRate: Int
    /// The codec: of the frames (`MPEG-1 Layer III`, `AAC-LC`) or of an Ogg stream's current chain (`Vorbis`,
    /// `Opus`, `FLAC`), when known.
    public var codec: String?

    public init(
        bytesRead: Int = 0,
        frames: Int = 0,
        garbageBytes: Int = 0,
        id3Bytes: Int = 0,
        resyncs: Int = 0,
        measuredBitrate: Int? = nil,
        realTimeRatio: Double? = nil,
        pace: FrameClock.Pace = .realTime,
        mediaTime: Duration = .zero,
        sampleRate: Int = 0,
        codec: String? = nil
    ) {
        self.bytesRead = bytesRead
        self.frames = frames
        self.garbageBytes = garbageBytes
        self.id3Bytes = id3Bytes
        self.resyncs = resyncs
        self.measuredBitrate = measuredBitrate
        self.realTimeRatio = realTimeRatio
        self.pace = pace
        self.mediaTime = mediaTime
        self.sampleRate = sampleRate
        self.codec = codec
    }
}
