/// Play time of an Ogg chain, counted from the granule positions of its audio stream's pages.
///
/// An Ogg page's granule position is the stream's sample count at the end of the last packet that ends on it
/// (-1 when none ends there). The samples between two such pages of the audio stream are the play time of the
/// pages from the first one's successor up to the second one: so each page that moves the position on
/// reports the samples, and the bytes of the stream's pages since the last report. Pages of other streams in the
/// chain (Theora video beside Vorbis) count neither.
///
/// A position that goes back, leaps more than `maximumPageSeconds`, or claims more than a second per
/// `minimumBytesPerSecond` bytes of the stream is a restarted encoder or a hostile source: it counts nothing, and
/// counting resumes from there.
public struct OggGranuleClock: Sendable {
    /// The audio stream's serial number.
    public let serial: UInt32
    /// Granule positions per second.
    public let rate: Int
    /// Longest play time one page may report.
    public static let maximumPageSeconds = 60
    /// Fewest stream bytes a second of audio takes (200 bit/s; Opus, the leanest codec here, sends at least
    /// 6 kbit/s, and a few bytes a packet in silence): without it, pages of 28 bytes claiming a minute each could
    /// run media time up by centuries.
    public static let minimumBytesPerSecond = 25

    private var lastPosition: UInt64 = 0
    private var uncountedBytes = 0

    /// A clock for the chain `tags` describe; `nil` when they name no granule rate.
    public init?(tags: OggStreamTags) {
        guard let rate = tags.granuleRate else { return nil }
        self.serial = tags.serial
        self.rate = rate
    }

    /// Takes the next page of the chain: the samples since the audio stream's last position and the stream's
    /// bytes they came in, or `nil` when `page` moves no position on.
    public mutating func advance(by page: OggPage) -> (samples: Int, bytes: Int)? {
        guard page.serial == serial else { return nil }
        uncountedBytes += page.length
        let position = page.granulePosition
        guard position != .max, position != lastPosition else { return nil }
        defer {
            lastPosition = position
            uncountedBytes = 0
        }
        guard position > lastPosition else { return nil }
        let samples = position - lastPosition
        guard samples <= UInt64(rate * Self.maximumPageSeconds),
            samples <= UInt64(rate) * UInt64(uncountedBytes) / UInt64(Self.minimumBytesPerSecond)
        else { return nil }
        return (Int(samples), uncountedBytes)
    }
}
