import Foundation

/// A title update as sources and admin tools send it: `song=`, or `artist=` and `title=`, with an optional
/// `charset=`.
public struct MetadataUpdate: Sendable, Equatable {
    /// The title listeners see: the song, or `artist - title`, or whichever of the two is present.
    public var title: String

    public init(title: String) {
        self.title = title
    }

    /// Builds the title from raw query values, decoding bytes with `charset`.
    ///
    /// Icecast assumes ISO-8859-1 when no charset is given, which turns the UTF-8 that nearly every modern tool
    /// sends into mojibake (the most common charset complaint). Floe decodes bytes that form valid UTF-8 as UTF-8
    /// when no charset is given — real Latin-1 text with accents almost never does — and falls back to Latin-1.
    /// An explicit charset is always obeyed. Returns `nil` when neither `song` nor `artist`/`title` is present.
    public init?(song: [UInt8]?, artist: [UInt8]?, title: [UInt8]?, charset: String?, defaultCharset: String? = nil) {
        // A title ends at a NUL, as in Icecast (C strings): sent on, it cut the ICY block short for players that
        // read it as one (found by a probe).
        let decode = { (bytes: [UInt8]) in
            String(Self.decode(bytes, charset: charset ?? defaultCharset).unicodeScalars.prefix { $0 != "\0" })
        }
        if let song {
            self.title = decode(song)
        } else {
            let artistText = artist.map(decode).flatMap { $0.isEmpty ? nil : $0 }
            let titleText = title.map(decode).flatMap { $0.isEmpty ? nil : $0 }
            switch (artistText, titleText) {
            case (let a?, let t?): self.title = "\(a) - \(t)"
            case (let a?, nil): self.title = a
            case (nil, let t?): self.title = t
            case (nil, nil):
                guard artist != nil || title != nil else { return nil }
                self.title = ""
            }
        }
    }

    /// Decodes `bytes` as `charset`: UTF-8, ISO-8859-1, ISO-8859-15, windows-1252 (and their aliases), or UTF-16
    /// (by its byte-order mark, big-endian without one), as Icecast converts them with iconv. Unknown or absent
    /// charsets use the UTF-8-if-valid rule. (ISO-8859-15 and windows-1252 were read as Latin-1: `%A4` was `¤`,
    /// not `€`, and windows-1252's 0x80–0x9F became C1 control characters; found by a probe.)
    static func decode(_ bytes: [UInt8], charset: String?) -> String {
        switch charset?.uppercased().replacingDashes() {
        case "UTF8":
            return String(decoding: bytes, as: UTF8.self)
        case "ISO88591", "LATIN1":
            return latin1(bytes)
        case "ISO885915", "LATIN9":
            return String(String.UnicodeScalarView(bytes.map { latin9Differences[$0] ?? Unicode.Scalar($0) }))
        case "WINDOWS1252", "CP1252":
            return String(data: Data(bytes), encoding: .windowsCP1252) ?? latin1(bytes)
        case "UTF16":
            return String(data: Data(bytes), encoding: .utf16) ?? latin1(bytes)
        default:
            if let text = String(validating: bytes, as: UTF8.self) { return text }
            return latin1(bytes)
        }
    }

    private static func latin1(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// The eight code points where ISO-8859-15 differs from ISO-8859-1.
    private static let latin9Differences: [UInt8: Unicode.Scalar] = [
        0xA4: "\u{20AC}", 0xA6: "\u{0160}", 0xA8: "\u{0161}", 0xB4: "\u{017D}",
        0xB8: "\u{017E}", 0xBC: "\u{0152}", 0xBD: "\u{0153}", 0xBE: "\u{0178}",
    ]
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(filter { $0 != "-" && $0 != "_" })
    }
}
