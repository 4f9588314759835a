/// How a mount is offered as HLS (`/MOUNT.m3u8`): every MP3 and AAC mount is, unless its configuration turns it off.
///
/// Durations are targets: segments and parts hold whole frames, so each is the longest run of frames that does
/// not exceed its target (a 0.5 s part of 44.1 kHz MP3 is 19 frames, 0.496 s).
public struct HLSConfiguration: Sendable, Equatable {
    /// Whether the mount serves HLS at all.
    public var enabled: Bool
    /// Target duration of a segment.
    public var segmentDuration: Duration
    /// Segments listed in the live playlist (at least three, so that it always spans three target durations).
    public var window: Int
    /// Target duration of a Low-Latency HLS part; `nil` serves plain HLS, without parts or blocking reloads.
    public var partDuration: Duration?
    /// What segments are made of.
    public var format: Format = .transportStream

    public enum Format: String, Sendable, Equatable, CaseIterable {
        /// MPEG-TS (`.ts`): the MP3 or AAC (ADTS) frames in PES packets, titles as timed ID3 where they change. What every
        /// player takes, Chromium among them.
        case transportStream = "ts"
        /// Packed audio (RFC 8216 §3.4, `.mp3` or `.aac`): the frames as they are, after an ID3 tag with the timestamp and
        /// title; segments are slices of the mount's own blocks. Titles change at segment starts.
        case packed

    }

    public static let minimumWindow = 3

    public init(
        enabled: Bool = true,
        segmentDuration: Duration = .seconds(2),
        window: Int = 6,
        partDuration: Duration? = .milliseconds(500)
    ) {
        self.enabled = enabled
        self.segmentDuration = segmentDuration
        self.window = window
        self.partDuration = partDuration
    }

    /// `EXT-X-TARGETDURATION`: the segment target in whole seconds, rounded up (never below 1).
    public var targetDurationSeconds: Int {
        max(1, Int((segmentDuration.seconds - 0.000_5).rounded(.up)))
    }
}
