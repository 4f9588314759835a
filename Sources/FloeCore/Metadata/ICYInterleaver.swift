import NIOCore

/// Inserts ICY metadata blocks into one listener's byte stream at exactly every `interval` audio bytes.
///
/// Audio slices are shared with every other listener; this type only decides where to cut them and which
/// (shared) metadata buffer goes in between, so a listener with metadata costs a few extra buffer references,
/// never a copy of the audio.
public struct ICYInterleaver: Sendable {
    /// Audio bytes between metadata blocks (`icy-metaint`).
    public let interval: Int
    /// Audio bytes still to send before the next metadata point.
    public private(set) var bytesUntilMetadata: Int
    /// The last metadata block sent; `nil` before the first, so a new listener always gets the title. Compared by
    /// content, not by version: a listener moved to a fallback mount gets a title block exactly when what it
    /// would show changes, whichever mount the title came from.
    public private(set) var lastSent: ByteBuffer?

    public init(interval: Int) {
        precondition(interval > 0, "an ICY interval must be positive")
        self.interval = interval
        self.bytesUntilMetadata = interval
        self.lastSent = nil
    }

    /// Splits `audio` at metadata points and calls `emit` with each piece in order: audio slices and metadata
    /// blocks. `metadata` is the title current when this audio was produced.
    public mutating func interleave(
        _ audio: ByteBuffer,
        metadata: ICYMetadata,
        emit: (ByteBuffer) -> Void
    ) {
        var remaining = audio
        while remaining.readableBytes > 0 {
            let take = min(bytesUntilMetadata, remaining.readableBytes)
            emit(remaining.readSlice(length: take)!)
            bytesUntilMetadata -= take
            if bytesUntilMetadata == 0 {
                if lastSent == metadata.encoded {
                    emit(ICYMetadata.unchanged)
                } else {
                    emit(metadata.encoded)
                    lastSent = metadata.encoded
                }
                bytesUntilMetadata = interval
            }
        }
    }
}
