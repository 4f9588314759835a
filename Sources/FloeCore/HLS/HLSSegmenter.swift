import Foundation
import MPEGAudio
import NIOCore

/// One part of a segment (a Low-Latency HLS `EXT-X-PART`), ready to send: a player can begin with it.
///
/// - Transport stream: whole frames as TS packets, starting with the PAT and PMT; muxed once.
/// - Packed audio: an ID3 tag with the timestamp of its first sample and the title, then its frames as they are:
///   slices of the blocks the mount published, not copies.
public struct HLSPart: Sendable {
    /// Media sequence number of the segment it belongs to.
    public var segment: Int
    /// Its place in that segment, from 0.
    public var index: Int
    public var duration: Duration
    /// The response body, in order; shared by every request.
    public var buffers: [ByteBuffer]
    /// `ts`, or for packed audio the codec's own: `mp3` or `aac`.
    public var fileExtension: String
    /// Packed audio: the frames alone, without the part's tag (a segment sends them after its own tag).
    var frames: [ByteBuffer] = []
}

/// A finished segment: its parts in order. A transport stream segment is its parts' bytes, concatenated; a
/// packed-audio segment is its own ID3 tag and the parts' frames.
public struct HLSSegment: Sendable {
    /// Media sequence number.
    public var sequence: Int
    public var parts: [HLSPart]
    /// The response body, in order; shared by every request.
    public var buffers: [ByteBuffer]
    /// `ts`, or for packed audio the codec's own (`mp3`, `aac`): a change of codec is a discontinuity, so one
    /// segment's parts all have the same.
    public var fileExtension: String
    public var duration: Duration
    /// Wall time of its first sample (`EXT-X-PROGRAM-DATE-TIME`).
    public var programDateTime: Date
    /// Whether it follows a change of source (`EXT-X-DISCONTINUITY` before it).
    public var discontinuity: Bool
    /// Discontinuities up to and including this segment's (`EXT-X-DISCONTINUITY-SEQUENCE` arithmetic).
    public var discontinuityCount: Int
}

/// Cuts a mount's published blocks into HLS segments and parts on frame boundaries, with timestamps from the
/// frame clock, and keeps the live window.
///
/// Pure: blocks and wall time in, segments out. The timeline is the frame clock's media time mapped to 90 kHz
/// ticks; it runs on without a jump when a source's media time restarts (a relay's next upstream stream) and is
/// marked with a discontinuity when `discontinuity()` says the audio changed (another source, a fallback).
/// Frames that carry no audio (Xing/Info headers) are left out: a decoder would play them as silence.
///
/// ```
///   frames ──► part (≤ part target) ──► segment (parts up to the segment target) ──► window
///              PAT PMT [ID3] PES PES …      part 0 │ part 1 │ part 2 │ part 3          oldest released
/// ```
public struct HLSSegmenter: Sendable {
    public private(set) var configuration: HLSConfiguration
    /// Segments kept beyond the window, for players that fetch a segment just after it left the playlist.
    public static let retainedBeyondWindow = 3
    /// Audio is written in PES packets of at most about this many bytes (whole frames), as ffmpeg does…
    static let pesPayloadBytes = 2_930
    /// …and of at most this much play time: each carries the PCR, which ISO/IEC 13818-1 wants every 100 ms.
    static let pesDuration = Duration.milliseconds(80)
    /// The timeline's first PTS, so that the PCR (a little earlier) is never negative.
    static let initialPTS: Int64 = 90_000

    /// Finished segments, oldest first: the window and the few retained beyond it.
    public private(set) var segments: [HLSSegment] = []
    /// Parts of the segment being built.
    public private(set) var openParts: [HLSPart] = []
    /// Media sequence number of the segment being built.
    public private(set) var nextSequence = 0
    /// Discontinuities so far.
    private var discontinuityCount = 0

    private var muxer: TransportStreamMuxer?
    private var timeline: (pts: Int64, mediaTime: Duration, date: Date)?
    private var expectedMediaTime: Duration?
    private var discontinuityPending = false

    // The segment and part being built.
    private var segmentStart: (pts: Int64, date: Date, discontinuity: Bool)?
    private var segmentDuration: Duration = .zero
    private var part: ByteBuffer?
    private var partDuration: Duration = .zero
    private var pes = ByteBuffer()
    private var pesPTS: Int64 = 0
    private var pesMedia: Duration = .zero
    /// Packed audio: the part's frames as runs of the blocks they are in, its first PTS and title.
    private var packedRuns: [(block: Int, bytes: ByteBuffer, start: Int, length: Int)] = []
    private var packedStart: (pts: Int64, title: String)?
    private var segmentTitle = ""
    /// The title written into the stream last, by its ICY version.
    private var writtenTitleVersion: Int?

    public init(configuration: HLSConfiguration) {
        self.configuration = configuration
    }

    /// A segmenter with new settings that goes on from `previous`: its sequence numbers, timeline and continuity
    /// counters run on; its segments (and whatever it was gathering) are not carried over.
    public init(configuration: HLSConfiguration, continuing previous: HLSSegmenter) {
        self.configuration = configuration
        nextSequence = previous.nextSequence + (previous.segmentStart == nil ? 0 : 1)
        discontinuityCount = previous.discontinuityCount
        muxer = previous.muxer
        timeline = previous.timeline
        expectedMediaTime = previous.expectedMediaTime
        discontinuityPending = previous.timeline != nil
    }

    /// Changes the number of segments listed; everything else goes on as it was.
    public mutating func setWindow(_ window: Int) {
        configuration.window = window
    }

    /// The file extension of the next part: `ts`, or packed audio's `mp3` or `aac` by the codec playing.
    public var nextFileExtension: String {
        guard configuration.format == .packed else { return "ts" }
        return muxer?.codec == .adtsAAC ? "aac" : "mp3"
    }

    private var partTarget: Duration { configuration.partDuration ?? configuration.segmentDuration }

    /// The audio changes here (another source or mount): the segment being built ends, and the next one is
    /// marked as a discontinuity.
    public mutating func discontinuity() {
        finishSegment()
        if !segments.isEmpty || timeline != nil { discontinuityPending = true }
    }

    /// The stream stops (the source left with nothing to take over): what is gathered becomes a last, shorter
    /// segment, and whatever comes next starts after a discontinuity.
    public mutating func endOfStream() {
        discontinuity()
    }

    /// Takes a block's audio frames; `now` is when it arrived. Returns whether a part was finished (the playlist
    /// changed).
    @discardableResult
    public mutating func append(_ block: StreamBlock, at now: Date) -> Bool {
        var changed = false
        let frames = block.frames.filter { $0.duration > .zero }
        guard let last = frames.last else { return false }
        let blockEnd = last.mediaTime + last.duration
        for frame in frames {
            changed = makeRoom(for: frame.duration) || changed
            let bytes = block.bytes.getSlice(at: block.bytes.readerIndex + frame.offset, length: frame.length)!
            if configuration.format == .packed {
                // The frame stays where it is: a run of its block, extended while frames follow one another.
                if let last = packedRuns.last, last.block == block.sequence, last.start + last.length == frame.offset {
                    packedRuns[packedRuns.count - 1].length += frame.length
                } else {
                    packedRuns.append((block.sequence, block.bytes, frame.offset, frame.length))
                }
            }
            if muxer == nil || discontinuityPending {
                // The stream type is read from the first frame, and again after each change of source (a fallback
                // may be MPEG-2 where the mount was MPEG-1, or AAC); continuity counters run on.
                let codec = bytes.withUnsafeReadableBytes { TransportStreamMuxer.AudioCodec(firstFrame: $0) }
                if muxer == nil { muxer = TransportStreamMuxer(codec: codec) } else { muxer!.codec = codec }
            }
            if timeline == nil || discontinuityPending || !Self.continues(frame.mediaTime, expectedMediaTime) {
                let pts = timeline.map { $0.pts + Self.ticks(expectedMediaTime! - $0.mediaTime) } ?? Self.initialPTS
                // After a discontinuity the wall clock is read anew; a mere restart of media time keeps the dates
                // running on.
                let date: Date
                if let timeline, !discontinuityPending {
                    date = timeline.date.addingTimeInterval(Double(pts - timeline.pts) / 90_000)
                } else {
                    date = now.addingTimeInterval(-(blockEnd - frame.mediaTime).seconds)
                }
                timeline = (pts, frame.mediaTime, date)
            }
            let timeline = timeline!
            let pts = timeline.pts + Self.ticks(frame.mediaTime - timeline.mediaTime)
            expectedMediaTime = frame.mediaTime + frame.duration
            changed = add(bytes, duration: frame.duration, pts: pts, title: block.metadata, timeline: timeline) || changed
        }
        return changed
    }

    /// Adds one frame to the part being built; finishes the part (and the segment) when the next frame would not fit.
    private mutating func add(
        _ frame: ByteBuffer,
        duration: Duration,
        pts: Int64,
        title: ICYMetadata,
        timeline: (pts: Int64, mediaTime: Duration, date: Date)
    ) -> Bool {
        if segmentStart == nil {
            let date = timeline.date.addingTimeInterval(Double(pts - timeline.pts) / 90_000)
            segmentStart = (pts, date, discontinuityPending)
            segmentTitle = title.title
            discontinuityPending = false
            writtenTitleVersion = nil
        }
        if configuration.format == .packed {
            if packedStart == nil { packedStart = (pts, title.title) }
            return addDuration(duration)
        }
        if part == nil {
            var bytes = ByteBufferAllocator().buffer(capacity: 16 * 1024)
            muxer!.writeTables(into: &bytes)
            part = bytes
        }
        if writtenTitleVersion != title.version {
            // At the start of each segment, and where the title changes.
            flushPES()
            let tag = ID3Tag.streamTitle(title.title).bytes
            muxer!.writeMetadata(ByteBuffer(bytes: tag).readableBytesView, pts: pts, into: &part!)
            writtenTitleVersion = title.version
        }
        if pes.readableBytes == 0 { pesPTS = pts }
        var frame = frame
        pes.writeBuffer(&frame)
        pesMedia += duration
        if pes.readableBytes >= Self.pesPayloadBytes || pesMedia + duration > Self.pesDuration { flushPES() }
        return addDuration(duration)
    }

    /// Finishes the part (or the segment) being built when a frame of `duration` would take it past its target.
    /// `addDuration` finishes them early, as soon as a frame as long as the last one would not fit, so that a part
    /// is published without waiting for the next frame; but frames can grow longer within a source (a change of
    /// sample rate, layer or AAC blocks per frame), and then only this check keeps parts and segments within their
    /// targets. A single frame longer than the part target (AAC at 8 kHz with four blocks a frame: 512 ms) still
    /// makes a part of its own, longer than the target: frames are never split.
    private mutating func makeRoom(for duration: Duration) -> Bool {
        if segmentDuration > .zero, segmentDuration + duration > configuration.segmentDuration {
            finishSegment()
            return true
        }
        if partDuration > .zero, partDuration + duration > partTarget {
            finishPart()
            return true
        }
        return false
    }

    /// Counts a frame's play time; finishes the part (and the segment) when the next frame would not fit.
    private mutating func addDuration(_ duration: Duration) -> Bool {
        partDuration += duration
        segmentDuration += duration
        if partDuration + duration > partTarget {
            finishPart()
            if segmentDuration + openParts.last!.duration > configuration.segmentDuration {
                finishSegment()
            }
            return true
        }
        return false
    }

    private mutating func flushPES() {
        guard pes.readableBytes > 0 else { return }
        muxer!.writeAudio(pes.readableBytesView, pts: pesPTS, into: &part!)
        pes.clear()
        pesMedia = .zero
    }

    private mutating func finishPart() {
        if let start = packedStart {
            let frames = packedRuns.map { $0.bytes.getSlice(at: $0.bytes.readerIndex + $0.start, length: $0.length)! }
            let tag = Self.packedTag(pts: start.pts, title: start.title)
            openParts.append(
                HLSPart(
                    segment: nextSequence, index: openParts.count, duration: partDuration, buffers: [tag] + frames,
                    fileExtension: nextFileExtension, frames: frames
                )
            )
            packedRuns = []
            packedStart = nil
            partDuration = .zero
            return
        }
        guard part != nil else { return }
        flushPES()
        openParts.append(
            HLSPart(segment: nextSequence, index: openParts.count, duration: partDuration, buffers: [part!], fileExtension: "ts")
        )
        part = nil
        partDuration = .zero
    }

    /// The ID3 tag a packed-audio segment or part starts with: the timestamp of its first sample (RFC 8216
    /// §3.4) and the title.
    static func packedTag(pts: Int64, title: String) -> ByteBuffer {
        var tag = ID3Tag.transportStreamTimestamp(pts)
        tag.frames += ID3Tag.streamTitle(title).frames
        return ByteBuffer(bytes: tag.bytes)
    }

    private mutating func finishSegment() {
        finishPart()
        guard let start = segmentStart, !openParts.isEmpty else { return }
        if start.discontinuity { discontinuityCount += 1 }
        let buffers = configuration.format == .packed
            ? [Self.packedTag(pts: start.pts, title: segmentTitle)] + openParts.flatMap(\.frames)
            : openParts.flatMap(\.buffers)
        segments.append(
            HLSSegment(
                sequence: nextSequence,
                parts: openParts,
                buffers: buffers,
                fileExtension: openParts[0].fileExtension,
                duration: segmentDuration,
                programDateTime: start.date,
                discontinuity: start.discontinuity,
                discontinuityCount: discontinuityCount
            )
        )
        // The window keeps `window` segments and at least three target durations (segments of whole frames run
        // a little short of the target), plus a few beyond it for late fetches.
        while segments.count > configuration.window + Self.retainedBeyondWindow,
            Self.duration(of: segments.dropFirst().dropFirst(Self.retainedBeyondWindow)) >= minimumWindowDuration
        {
            segments.removeFirst()
        }
        nextSequence += 1
        openParts = []
        segmentStart = nil
        segmentDuration = .zero
    }

    /// Three target durations (RFC 8216 §6.2.2: a live playlist never lists less).
    var minimumWindowDuration: Duration { .seconds(3 * configuration.targetDurationSeconds) }

    static func duration(of segments: ArraySlice<HLSSegment>) -> Duration {
        segments.reduce(.zero) { $0 + $1.duration }
    }

    /// The most parts a segment can have: a part index beyond it names nothing that will ever exist. Whatever the
    /// frames' lengths, every part but a segment's last either lasts over half the part target (`addDuration`
    /// ended it) or lasts over the target together with the next part's first frame (`makeRoom` ended it); so any
    /// two parts in a row last over half the target, and a segment holds fewer than 4 × segment / part + 2 parts.
    public var maximumPartsPerSegment: Int {
        guard let part = configuration.partDuration, part > .zero else { return 1 }
        return Int((4 * configuration.segmentDuration.seconds / part.seconds).rounded(.up)) + 1
    }

    /// Whether a frame at `mediaTime` follows on from a frame that ended at `expected` (frame durations are rounded
    /// to the nanosecond, media times are exact).
    static func continues(_ mediaTime: Duration, _ expected: Duration?) -> Bool {
        guard let expected else { return false }
        let gap = mediaTime - expected
        return gap < .microseconds(1) && gap > .microseconds(-1)
    }

    /// Duration to 90 kHz ticks, rounded to the nearest tick.
    static func ticks(_ duration: Duration) -> Int64 {
        let nanoseconds = duration.nanoseconds
        return (nanoseconds * 9 + (nanoseconds >= 0 ? 50_000 : -50_000)) / 100_000
    }
}

// MARK: Lookups

extension HLSSegmenter {
    /// The segments the live playlist lists: the newest `window`, and more if those last less than three target
    /// durations.
    public var windowSegments: ArraySlice<HLSSegment> {
        var window = segments.suffix(configuration.window)
        while window.startIndex > segments.startIndex, Self.duration(of: window) < minimumWindowDuration {
            window = segments[(window.startIndex - 1)...]
        }
        return window
    }

    /// The segment being built: its start date and whether it follows a discontinuity (for the tags before its
    /// parts); `nil` when none is.
    public var openSegment: (programDateTime: Date, discontinuity: Bool)? {
        guard let start = segmentStart, !openParts.isEmpty else { return nil }
        return (start.date, start.discontinuity)
    }

    /// A finished segment still kept.
    public func segment(_ sequence: Int) -> HLSSegment? {
        guard let first = segments.first, sequence >= first.sequence, sequence < nextSequence else { return nil }
        return segments[sequence - first.sequence]
    }

    /// A part of a finished segment still kept, or of the segment being built.
    public func part(segment sequence: Int, index: Int) -> HLSPart? {
        let parts = sequence == nextSequence ? openParts[...] : (segment(sequence)?.parts ?? [])[...]
        return parts.indices.contains(index) ? parts[index] : nil
    }

    /// Whether a blocking request for segment `sequence` (and part `part` of it) can be answered: that segment is
    /// finished, or that part of the segment being built is.
    public func satisfies(segment sequence: Int, part: Int?) -> Bool {
        if sequence < nextSequence { return true }
        guard sequence == nextSequence, let part else { return false }
        return part < openParts.count
    }

    /// Media sequence number of the newest finished segment; `nil` before the first.
    public var lastSequence: Int? { segments.last?.sequence }

    /// The part a player should ask for next (`EXT-X-PRELOAD-HINT`): the next in the segment being built.
    public var nextPart: (segment: Int, index: Int) { (nextSequence, openParts.count) }
}
