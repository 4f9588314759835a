/// How Floe treats a source's bytes, decided from its `Content-Type`.
public enum StreamFormat: Sendable, Equatable {
    /// MPEG audio (MP3 and its layer I/II siblings): framed, clocked, frame-aligned blocks, ICY metadata.
    case mpeg
    /// AAC in ADTS (AAC-LC, HE-AAC, HE-AACv2): framed and clocked like MPEG audio, ICY metadata included (as
    /// Icecast's MP3 format, which also serves `audio/aac` and `audio/aacp`).
    case aac
    /// Ogg (Vorbis, Opus, FLAC, …): relayed in whole pages; the header pages of the current chain are replayed to
    /// every listener before its first page, as Icecast's Ogg format does, so late joiners can decode.
    case ogg
    /// WebM and Matroska: the EBML header, Segment info and tracks are replayed to every listener before its first
    /// cluster, and listeners start at a cluster that opens with a keyframe.
    case webm
    /// Anything else (FLAC, …): relayed as bytes, like Icecast's generic format.
    /// `allowsICYMetadata` is false for Ogg/WebM/Opus, whose metadata travels in-band.
    case passthrough(allowsICYMetadata: Bool)

    /// Chooses the format for a content type. A missing type is MP3, as Icecast assumes for `SOURCE`.
    public init(contentType: String?) {
        let type = (contentType ?? "audio/mpeg").lowercased()
        let essence = type.split(separator: ";").first.map { String($0.trimmingSpaces()) } ?? type
        switch essence {
        case "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/mpg":
            self = .mpeg
        case "audio/aac", "audio/aacp", "audio/x-aac", "audio/x-aacp", "audio/adts":
            self = .aac
        case "video/webm", "audio/webm", "video/x-matroska", "audio/x-matroska", "video/matroska", "audio/matroska":
            self = .webm
        case "application/ogg", "audio/ogg", "video/ogg", "application/x-ogg", "audio/x-ogg", "audio/opus",
            "audio/vorbis", "audio/flac+ogg":
            self = .ogg
        default:
            let inBand = essence.contains("ogg") || essence.contains("webm") || essence.contains("opus")
            self = .passthrough(allowsICYMetadata: !inBand)
        }
    }

    /// Whether a response of this content type is a document rather than a stream (an error page, a status page,
    /// a login form): text, HTML, XML or JSON. A relay does not put such bytes on the air.
    public static func isDocument(contentType: String?) -> Bool {
        guard let type = contentType?.lowercased() else { return false }
        let essence = type.split(separator: ";").first.map { String($0.trimmingSpaces()) } ?? type
        return essence.hasPrefix("text/") || essence.hasSuffix("html") || essence.hasSuffix("xml") || essence.hasSuffix("json")
    }

    /// Whether the format is cut into frames with play times (MPEG audio, ADTS): blocks start on frame
    /// boundaries, so bursts, fallbacks, hand-overs and segments cut between frames.
    public var isFramed: Bool {
        switch self {
        case .mpeg, .aac: return true
        case .ogg, .webm, .passthrough: return false
        }
    }

    /// Whether listeners of this format may ask for ICY metadata.
    public var allowsICYMetadata: Bool {
        switch self {
        case .mpeg, .aac, .ogg: return true
        case .webm: return false
        case .passthrough(let allows): return allows
        }
    }
}
