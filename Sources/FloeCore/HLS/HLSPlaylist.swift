import Foundation

/// Writes a mount's live media playlist (RFC 8216, with the Low-Latency HLS tags of its second edition).
///
/// ```
///  #EXTM3U
///  #EXT-X-VERSION:6
///  #EXT-X-TARGETDURATION:2
///  #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500      (with parts)
///  #EXT-X-PART-INF:PART-TARGET=0.500
///  #EXT-X-MEDIA-SEQUENCE:40
///  #EXT-X-DISCONTINUITY-SEQUENCE:1
///  #EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:00.000Z                     (first segment, and after each discontinuity)
///  #EXT-X-PART:DURATION=0.49633,URI="live.hls/k3x-45.0.ts",INDEPENDENT=YES   (parts of the last three segments)
///  #EXTINF:1.98531,
///  live.hls/k3x-45.ts
///  …                                                                    (parts of the segment being built)
///  #EXT-X-PRELOAD-HINT:TYPE=PART,URI="live.hls/k3x-46.2.ts"
/// ```
/// No `EXT-X-ENDLIST`: the playlist is live for as long as the mount exists.
public enum HLSPlaylist {
    /// Segments whose parts stay listed (RFC 8216bis: parts older than three target durations may go).
    static let segmentsWithParts = 3

    /// The playlist of `segmenter`'s window. `names` gives segment and part URIs.
    public static func render(_ segmenter: HLSSegmenter, names: HLSNames) -> String {
        let configuration = segmenter.configuration
        let window = segmenter.windowSegments
        var text = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:\(configuration.targetDurationSeconds)\n"
        if let part = configuration.partDuration {
            text += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=\(decimal(part * 3, places: 3))\n"
            text += "#EXT-X-PART-INF:PART-TARGET=\(decimal(part, places: 3))\n"
        }
        let first = window.first
        text += "#EXT-X-MEDIA-SEQUENCE:\(first?.sequence ?? segmenter.nextSequence)\n"
        let discontinuities = first.map { $0.discontinuityCount - ($0.discontinuity ? 1 : 0) } ?? 0
        text += "#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuities)\n"
        let partsFrom = (window.last?.sequence ?? 0) - Self.segmentsWithParts + 1
        for (position, segment) in window.enumerated() {
            // Written before the first segment too: EXT-X-DISCONTINUITY-SEQUENCE counts only those before it.
            if segment.discontinuity { text += "#EXT-X-DISCONTINUITY\n" }
            if position == 0 || segment.discontinuity {
                text += "#EXT-X-PROGRAM-DATE-TIME:\(dateTime(segment.programDateTime))\n"
            }
            if configuration.partDuration != nil, segment.sequence >= partsFrom {
                for part in segment.parts { text += partLine(part, names: names) }
            }
            text += "#EXTINF:\(decimal(segment.duration, places: 5)),\n\(names.segment(segment.sequence, segment.fileExtension))\n"
        }
        if configuration.partDuration != nil {
            if let open = segmenter.openSegment {
                // The tags of the segment being built go before its first part, where they will stay.
                if open.discontinuity { text += "#EXT-X-DISCONTINUITY\n" }
                if window.isEmpty || open.discontinuity {
                    text += "#EXT-X-PROGRAM-DATE-TIME:\(dateTime(open.programDateTime))\n"
                }
            }
            for part in segmenter.openParts { text += partLine(part, names: names) }
            let next = segmenter.nextPart
            let hint = names.part(next.segment, next.index, segmenter.nextFileExtension)
            text += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"\(hint)\"\n"
        }
        return text
    }

    private static func partLine(_ part: HLSPart, names: HLSNames) -> String {
        "#EXT-X-PART:DURATION=\(decimal(part.duration, places: 5)),URI=\"\(names.part(part.segment, part.index, part.fileExtension))\",INDEPENDENT=YES\n"
    }

    /// A duration in seconds with a fixed number of decimals (no exponent, whatever the locale).
    static func decimal(_ duration: Duration, places: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let units = (duration.nanoseconds * scale + 500_000_000) / 1_000_000_000
        let whole = units / scale
        let fraction = String(units % scale)
        return "\(whole)." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// ISO 8601 in UTC with milliseconds.
    static func dateTime(_ date: Date) -> String {
        let milliseconds = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = Date(timeIntervalSince1970: Double(milliseconds / 1000))
        let fraction = String(milliseconds % 1000)
        return TimeFormat.utc(seconds, "%Y-%m-%dT%H:%M:%S") + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }
}

/// How a mount's HLS resources are named. Names carry the stream's id (`k3x`), which changes when the server
/// restarts, so that a cache never serves an old run's segment for a reused sequence number:
///
/// ```
///  /live.m3u8                      playlist
///  /live.hls/k3x-45.ts             segment 45
///  /live.hls/k3x-45.2.ts           part 2 of segment 45
///  /live.hls/k3x-45.mp3            segment 45 as packed audio (`format: packed`); `.aac` for AAC
/// ```
/// Playlists refer to them relative to the playlist's own URI (`live.hls/k3x-45.ts`), so they work under any
/// prefix a proxy puts in front.
public struct HLSNames: Sendable, Equatable {
    /// The mount's path (`/live`).
    public var mount: String
    /// The stream's id.
    public var streamID: String

    public static let playlistSuffix = ".m3u8"
    public static let directorySuffix = ".hls"

    public init(mount: String, streamID: String) {
        self.mount = mount
        self.streamID = streamID
    }

    /// The last path component of the mount, percent-encoded: what the playlist's relative URIs start with.
    private var base: String {
        PercentEncoding.encoding(String(mount.split(separator: "/", omittingEmptySubsequences: false).last ?? ""))
    }

    /// The `Content-Type` of a segment or part with this file extension.
    public static func contentType(fileExtension: String) -> String {
        switch fileExtension {
        case "mp3": return "audio/mpeg"
        case "aac": return "audio/aac"
        default: return "video/mp2t"
        }
    }

    /// A segment's URI; `fileExtension` is `ts`, `mp3` or `aac`.
    public func segment(_ sequence: Int, _ fileExtension: String = "ts") -> String {
        "\(base)\(Self.directorySuffix)/\(streamID)-\(sequence).\(fileExtension)"
    }

    public func part(_ sequence: Int, _ index: Int, _ fileExtension: String = "ts") -> String {
        "\(base)\(Self.directorySuffix)/\(streamID)-\(sequence).\(index).\(fileExtension)"
    }
}
