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
        let decode = { (bytes: [UInt8]) in Self.decode(bytes, charset: charset ?? defaultCharset) }
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

    /// Decodes `bytes` as `charset` (UTF-8 or ISO-8859-1 and its aliases); unknown or absent charsets use the
    /// UTF-8-if-valid rule.
    static func decode(_ bytes: [UInt8], charset: String?) -> String {
        switch charset?.uppercased().replacingDashes() {
        case "UTF8":
            return String(decoding: bytes, as: UTF8.self)
        case "ISO88591", "LATIN1", "ISO885915":
            return latin1(bytes)
        default:
            if let text = String(validating: bytes, as: UTF8.self) { return text }
            return latin1(bytes)
        }
    }

    private static func latin1(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(filter { $0 != "-" && $0 != "_" })
    }
}
