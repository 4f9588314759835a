/// What an HLS request path names (see `HLSNames`): a mount's playlist, one of its segments, or a part.
///
/// Parsing is strict: a segment name is the stream id (letters and digits), a dash, the sequence number and
/// optionally a dot and the part index, then `.ts` (or `.mp3` or `.aac`, packed audio). Anything else (`..`, extra components, signs, numbers too long
/// to be real) names nothing, and the server answers 404.
public enum HLSResource: Sendable, Equatable {
    case playlist(mount: String)
    case segment(mount: String, streamID: String, sequence: Int, fileExtension: String)
    case part(mount: String, streamID: String, sequence: Int, index: Int, fileExtension: String)

    /// The mount the resource belongs to.
    public var mount: String {
        switch self {
        case .playlist(let mount), .segment(let mount, _, _, _), .part(let mount, _, _, _, _): return mount
        }
    }

    /// Reads a request path (already percent-decoded); `nil` when it is not an HLS name.
    public init?(path: String) {
        guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
        if path.hasSuffix(HLSNames.playlistSuffix) {
            let mount = String(path.dropLast(HLSNames.playlistSuffix.count))
            guard mount.count > 1, !mount.hasSuffix("/") else { return nil }
            self = .playlist(mount: mount)
            return
        }
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let directory = path[..<slash]
        let file = path[path.index(after: slash)...]
        let fileExtension = ["ts", "mp3", "aac"].first { file.hasSuffix(".\($0)") } ?? ""
        guard directory.hasSuffix(HLSNames.directorySuffix), !fileExtension.isEmpty else { return nil }
        let mount = String(directory.dropLast(HLSNames.directorySuffix.count))
        guard mount.count > 1, !mount.hasSuffix("/") else { return nil }
        let name = file.dropLast(fileExtension.count + 1)
        guard let dash = name.firstIndex(of: "-") else { return nil }
        let streamID = name[..<dash]
        guard !streamID.isEmpty, streamID.count <= 16, streamID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        let numbers = name[name.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(numbers.count), let sequence = Self.number(numbers[0]) else { return nil }
        if numbers.count == 2 {
            guard let index = Self.number(numbers[1]) else { return nil }
            self = .part(mount: mount, streamID: String(streamID), sequence: sequence, index: index, fileExtension: fileExtension)
        } else {
            self = .segment(mount: mount, streamID: String(streamID), sequence: sequence, fileExtension: fileExtension)
        }
    }

    /// Digits only, at most 15 of them.
    public static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 15, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}
