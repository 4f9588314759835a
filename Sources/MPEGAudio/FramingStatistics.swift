/// A frame synchroniser's running counts since it started, for logs and metrics.
public struct FramingStatistics: Sendable, Hashable {
    /// Frames reported, of every kind.
    public var frames: Int
    /// Bytes skipped as ``FrameSynchronizer/SkipReason/garbage`` while searching for sync.
    public var garbageBytes: Int
    /// Bytes skipped inside ID3v2 tags.
    public var id3Bytes: Int
    /// Times sync was lost after having been established.
    public var resyncs: Int

    public init(frames: Int = 0, garbageBytes: Int = 0, id3Bytes: Int = 0, resyncs: Int = 0) {
        self.frames = frames
        self.garbageBytes = garbageBytes
        self.id3Bytes = id3Bytes
        self.resyncs = resyncs
    }
}
