/// Finds, in a WebM or Matroska stream, what a listener joining late needs first and where it may start.
///
/// A stream is an EBML header, then a Segment whose children are the stream's description (Info, Tracks, Tags …)
/// and then Clusters of timed blocks. A late joiner needs the description before any cluster, and must start at a
/// cluster whose first block is a keyframe (every audio block is one):
///
/// ```
///  [EBML][Segment ─ size][SeekHead][Info][Tracks][Tags][Cluster: Timecode SimpleBlock(key) …][Cluster …] …
///   └─ streamStart ─┘└ segmentStart┘└drop┘└── headerElement ──┘└ clusterStart(joinable) ┘└ data ┘
/// ```
///
/// Like the MPEG synchroniser it works on the front of the caller's pending bytes and holds none itself; each
/// ``step(_:)`` names what the first bytes are, and the caller drops exactly those before the next call.
///
/// - The Segment's own size is not kept: a late joiner's stream is shorter, so the header says "unknown size".
/// - SeekHead and Cues give byte positions that mean nothing in a live stream: they are dropped before the first
///   cluster (and relayed as they are after it, as Icecast does).
/// - Cluster bodies are never buffered: they pass on as they come. A cluster of unknown size (a streaming muxer's)
///   ends where the next Segment-level element starts.
/// - Each cluster's Timecode (in ticks of Info's TimestampScale) gives the play time since the cluster before it,
///   so WebM blocks carry play time as frames do (a leap back, or of more than `maximumClusterLeap`, counts none).
/// - Anything that cannot be an element (an impossible length marker, a header element over 1 MiB, a cluster
///   claiming more than 256 MiB) loses sync: bytes are skipped as garbage up to the next EBML header or cluster.
public struct MatroskaFramer: Sendable {
    public enum Step: Sendable, Equatable {
        /// The first `count` bytes are an EBML header element, whole: a stream starts (its header starts anew).
        case streamStart(Int)
        /// The Segment's ID and size: the header gets ``MatroskaFramer/unknownSizeSegment`` in their place.
        case segmentStart(Int)
        /// A whole element before the first cluster (Info, Tracks, Tags, …): it belongs to the header.
        case headerElement(Int)
        /// Bytes not relayed: a SeekHead, Cues or Void before the first cluster.
        case drop(Int)
        /// A cluster's ID and size; `joinable` when its first block is a keyframe: a listener may start here;
        /// `elapsed`, the play time since the last cluster whose Timecode was read, when this one's was read too
        /// and the step is neither back nor more than `maximumClusterLeap`.
        case clusterStart(Int, joinable: Bool, elapsed: Duration?)
        /// Stream bytes after the header (inside clusters, or elements between them): relayed as they are.
        case data(Int)
        /// Not a stream: bytes skipped while looking for an EBML header or a cluster.
        case garbage(Int)
        case needMoreData
    }

    /// A Segment of unknown size: what a late joiner's header carries instead of the source's.
    public static let unknownSizeSegment: [UInt8] = [0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    /// The largest element kept whole in the header.
    public static let maximumHeaderElement = 1 << 20
    /// The largest EBML header believed (an encoder writes about 40 bytes): it starts the stream header, which
    /// must stay within ``SourceIngest/maximumBlockBytes`` and a little.
    public static let maximumEBMLHeader = 64 * 1024
    /// The largest cluster believed.
    public static let maximumClusterSize: UInt64 = 256 << 20
    /// How far into a cluster its first video block (or first block) is looked for.
    static let blockLookahead = 4096
    /// Longest play time one cluster may report.
    public static let maximumClusterLeap = Duration.seconds(60)

    private enum After: Sendable {
        case segmentLevel
        case unknownSizeCluster
    }

    private enum State: Sendable {
        /// Looking for an EBML header or a cluster (at the start, or after losing sync).
        case searching
        /// After an EBML header: a Segment must follow.
        case expectingSegment
        /// Between children of the Segment.
        case segmentLevel
        /// Passing on (or dropping) the rest of an element of known size.
        case element(remaining: UInt64, relay: Bool, then: After)
        /// Inside a cluster of unknown size, between its children.
        case unknownSizeCluster
    }

    private var state = State.searching
    /// Whether a cluster has been seen since the last EBML header: elements before the first are the header's.
    public private(set) var seenCluster = false
    /// The stream's video track numbers (from its Tracks element): a cluster is joinable when the first block of
    /// one of them is a keyframe, whatever audio comes before it.
    public private(set) var videoTracks: Set<UInt64> = []
    /// Nanoseconds per tick of cluster Timecodes (Info's TimestampScale; a millisecond unless it says).
    public private(set) var timestampScale: UInt64 = 1_000_000
    /// The last cluster Timecode read in this stream.
    private var lastClusterTimecode: UInt64?

    public init() {}

    /// The bytes that follow belong to another stream: look for an EBML header afresh.
    public mutating func startNewStream() {
        state = .searching
        lastClusterTimecode = nil
    }

    /// Examines the front of `bytes` and says what its first bytes are.
    public mutating func step(_ bytes: UnsafeRawBufferPointer) -> Step {
        switch state {
        case .searching:
            return search(bytes)
        case .expectingSegment:
            switch EBMLElementHeader.read(bytes) {
            case .needMoreData: return .needMoreData
            case .header(let header) where header.id == MatroskaID.segment:
                state = .segmentLevel
                return .segmentStart(header.length)
            case .header, .invalid: return loseSync()
            }
        case .segmentLevel:
            return segmentLevel(bytes)
        case .element(let remaining, let relay, let then):
            guard !bytes.isEmpty else { return .needMoreData }
            let count = Int(min(UInt64(bytes.count), remaining))
            state = remaining == UInt64(count) ? (then == .segmentLevel ? .segmentLevel : .unknownSizeCluster)
                : .element(remaining: remaining - UInt64(count), relay: relay, then: then)
            return relay ? .data(count) : .drop(count)
        case .unknownSizeCluster:
            switch EBMLElementHeader.read(bytes) {
            case .needMoreData: return .needMoreData
            case .invalid: return loseSync()
            case .header(let header):
                if MatroskaID.segmentLevel.contains(header.id) {
                    state = .segmentLevel
                    return segmentLevel(bytes)
                }
                guard let size = header.size, size <= Self.maximumClusterSize else { return loseSync() }
                state = size == 0 ? .unknownSizeCluster : .element(remaining: size, relay: true, then: .unknownSizeCluster)
                return .data(header.length)
            }
        }
    }

    private mutating func segmentLevel(_ bytes: UnsafeRawBufferPointer) -> Step {
        let header: EBMLElementHeader
        switch EBMLElementHeader.read(bytes) {
        case .needMoreData: return .needMoreData
        case .invalid: return loseSync()
        case .header(let read): header = read
        }
        switch header.id {
        case MatroskaID.ebml:
            guard let size = header.size, size <= UInt64(Self.maximumEBMLHeader) else { return loseSync() }
            let total = header.length + Int(size)
            guard bytes.count >= total else { return .needMoreData }
            state = .expectingSegment
            seenCluster = false
            videoTracks = []
            timestampScale = 1_000_000
            lastClusterTimecode = nil
            return .streamStart(total)
        case MatroskaID.segment:
            // A Segment without an EBML header before it: taken as the current stream's.
            return .segmentStart(header.length)
        case MatroskaID.cluster:
            if let size = header.size, size > Self.maximumClusterSize { return loseSync() }
            let end = header.size.map { header.length + Int($0) }
            guard let joinable = Self.startsWithKeyframe(bytes, from: header.length, end: end, videoTracks: videoTracks) else {
                return .needMoreData
            }
            let timecode: UInt64?
            switch Self.clusterTimecode(bytes, from: header.length, end: end) {
            case .needMoreData: return .needMoreData
            case .absent: timecode = nil
            case .found(let value): timecode = value
            }
            seenCluster = true
            let elapsed = timecode.flatMap { elapsedSince($0) }
            if let size = header.size {
                state = size == 0 ? .segmentLevel : .element(remaining: size, relay: true, then: .segmentLevel)
            } else {
                state = .unknownSizeCluster
            }
            return .clusterStart(header.length, joinable: joinable, elapsed: elapsed)
        case MatroskaID.seekHead, MatroskaID.cues, MatroskaID.void:
            guard let size = header.size, size <= Self.maximumClusterSize else { return loseSync() }
            let relay = seenCluster
            state = size == 0 ? .segmentLevel : .element(remaining: size, relay: relay, then: .segmentLevel)
            return relay ? .data(header.length) : .drop(header.length)
        default:
            if seenCluster {
                guard let size = header.size, size <= Self.maximumClusterSize else { return loseSync() }
                state = size == 0 ? .segmentLevel : .element(remaining: size, relay: true, then: .segmentLevel)
                return .data(header.length)
            }
            guard let size = header.size, size <= UInt64(Self.maximumHeaderElement) else { return loseSync() }
            let total = header.length + Int(size)
            guard bytes.count >= total else { return .needMoreData }
            if header.id == MatroskaID.tracks {
                videoTracks = Self.videoTracks(in: UnsafeRawBufferPointer(rebasing: bytes[header.length..<total]))
            }
            if header.id == MatroskaID.info {
                let scale = Self.children(of: UnsafeRawBufferPointer(rebasing: bytes[header.length..<total]))
                    .last { $0.id == 0x2A_D7B1 && $0.body.count <= 8 }
                    .map { $0.body.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
                timestampScale = scale.map { min(max($0, 1), 1_000_000_000) } ?? 1_000_000
            }
            return .headerElement(total)
        }
    }

    /// The play time from the last cluster's Timecode to `timecode`, which becomes the last; `nil` for the first,
    /// and for a Timecode that goes back or leaps further than `maximumClusterLeap`.
    private mutating func elapsedSince(_ timecode: UInt64) -> Duration? {
        defer { lastClusterTimecode = timecode }
        guard let last = lastClusterTimecode, timecode > last,
            timecode - last <= UInt64(Self.maximumClusterLeap.components.seconds) * 1_000_000_000 / timestampScale
        else { return nil }
        return .nanoseconds(Int64((timecode - last) * timestampScale))
    }

    enum TimecodeLookup: Equatable {
        case found(UInt64)
        case absent
        case needMoreData
    }

    /// The Timecode of the cluster whose body starts at `start`: among its first children, before its first
    /// block and within `blockLookahead` (or the cluster's `end`); `.needMoreData` until the bytes to tell are
    /// there.
    static func clusterTimecode(_ bytes: UnsafeRawBufferPointer, from start: Int, end: Int?) -> TimecodeLookup {
        let limit = min(end ?? Int.max, start + blockLookahead)
        let window = UnsafeRawBufferPointer(rebasing: bytes[..<min(limit, bytes.count)])
        /// Bytes cut short at the end of what arrived: wait, unless the lookahead is all there.
        let cutShort: TimecodeLookup = bytes.count >= limit ? .absent : .needMoreData
        var offset = start
        while offset < limit {
            let child: EBMLElementHeader
            switch EBMLElementHeader.read(window, at: offset) {
            case .needMoreData: return cutShort
            case .invalid: return .absent
            case .header(let read): child = read
            }
            guard let size = child.size else { return .absent }
            let body = offset + child.length
            if child.id == 0xE7 {
                guard size <= 8, body + Int(size) <= limit else { return .absent }
                guard body + Int(size) <= window.count else { return cutShort }
                return .found(window[body..<(body + Int(size))].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            }
            if child.id == MatroskaID.simpleBlock || child.id == MatroskaID.blockGroup || MatroskaID.segmentLevel.contains(child.id) {
                return .absent
            }
            offset = body + Int(min(size, UInt64(limit)))
        }
        return .absent
    }

    /// Skips the first byte and searches for the next EBML header or cluster.
    private mutating func loseSync() -> Step {
        state = .searching
        return .garbage(1)
    }

    /// Garbage up to the next EBML header or cluster ID; at one, goes on at the Segment level.
    private mutating func search(_ bytes: UnsafeRawBufferPointer) -> Step {
        guard bytes.count >= 4 else { return .needMoreData }
        var index = 0
        while index + 4 <= bytes.count {
            let id = UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
            if id == MatroskaID.ebml || id == MatroskaID.cluster {
                if index > 0 { return .garbage(index) }
                state = .segmentLevel
                return segmentLevel(bytes)
            }
            index += 1
        }
        return .garbage(index)
    }

    /// Whether a listener may start at the cluster whose body starts at `start`: its first block of a video track
    /// is a keyframe (a stream without video may be joined at any cluster). A SimpleBlock says so in its flags; a
    /// BlockGroup is a keyframe unless it holds a ReferenceBlock. `nil` until enough of the cluster is there.
    static func startsWithKeyframe(_ bytes: UnsafeRawBufferPointer, from start: Int, end: Int?, videoTracks: Set<UInt64>) -> Bool? {
        // Without video every audio block decodes on its own, whatever its flags say.
        guard !videoTracks.isEmpty else { return true }
        var offset = start
        let limit = min(end ?? Int.max, start + blockLookahead)
        while offset < limit {
            let child: EBMLElementHeader
            switch EBMLElementHeader.read(bytes, at: offset) {
            case .header(let read): child = read
            case .needMoreData: return bytes.count >= limit ? videoTracks.isEmpty : nil
            case .invalid: return videoTracks.isEmpty
            }
            guard let size = child.size, !MatroskaID.segmentLevel.contains(child.id) else { return videoTracks.isEmpty }
            let body = offset + child.length
            let bodyEnd = body + Int(min(size, UInt64(Int.max / 2)))
            switch child.id {
            case MatroskaID.simpleBlock, MatroskaID.blockGroup:
                guard bodyEnd <= bytes.count || child.id == MatroskaID.simpleBlock else {
                    return bytes.count >= limit ? videoTracks.isEmpty : nil
                }
                guard let block = blockTrackAndKeyframe(bytes, id: child.id, body: body, end: min(bodyEnd, bytes.count)) else {
                    return bytes.count >= limit ? videoTracks.isEmpty : nil
                }
                if videoTracks.isEmpty || videoTracks.contains(block.track) { return block.keyframe }
            default:
                break
            }
            offset = bodyEnd
        }
        return videoTracks.isEmpty
    }

    /// A SimpleBlock's or BlockGroup's track number and whether it is a keyframe; `nil` when the bytes needed are
    /// not all there.
    private static func blockTrackAndKeyframe(_ bytes: UnsafeRawBufferPointer, id: UInt32, body: Int, end: Int) -> (track: UInt64, keyframe: Bool)? {
        if id == MatroskaID.simpleBlock {
            // Track number (a variable-length integer), a 16-bit timecode, then the flags.
            guard body < end, let track = EBMLElementHeader.vint(bytes, at: body, end: end), body + track.length + 2 < end else { return nil }
            return (track.value, bytes[body + track.length + 2] & 0x80 != 0)
        }
        var offset = body
        var track: UInt64?
        var referenced = false
        while offset < end, case .header(let child) = EBMLElementHeader.read(UnsafeRawBufferPointer(rebasing: bytes[..<end]), at: offset) {
            let childBody = offset + child.length
            if child.id == 0xA1, let number = EBMLElementHeader.vint(bytes, at: childBody, end: end) { track = number.value }
            if child.id == 0xFB { referenced = true }
            guard let size = child.size else { break }
            offset = childBody + Int(min(size, UInt64(Int.max / 2)))
        }
        return track.map { ($0, !referenced) }
    }

    /// The numbers of the video tracks (TrackType 1) in a Tracks element's body.
    static func videoTracks(in body: UnsafeRawBufferPointer) -> Set<UInt64> {
        var tracks: Set<UInt64> = []
        for entry in children(of: body) where entry.id == 0xAE {
            var number: UInt64?
            var type: UInt64?
            for field in children(of: entry.body) {
                let value = field.body.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                if field.id == 0xD7 { number = value }
                if field.id == 0x83 { type = value }
            }
            if type == 1, let number { tracks.insert(number) }
        }
        return tracks
    }

    /// The child elements of known size that lie wholly inside `body`.
    private static func children(of body: UnsafeRawBufferPointer) -> [(id: UInt32, body: UnsafeRawBufferPointer)] {
        var result: [(id: UInt32, body: UnsafeRawBufferPointer)] = []
        var offset = 0
        while case .header(let child) = EBMLElementHeader.read(body, at: offset), let size = child.size,
            size <= UInt64(body.count - offset - child.length)
        {
            let start = offset + child.length
            result.append((child.id, UnsafeRawBufferPointer(rebasing: body[start..<(start + Int(size))])))
            offset = start + Int(size)
        }
        return result
    }
}
