import NIOCore

/// The codec, the artist and title, and the clock rate an Ogg chain's header pages carry: Vorbis comments
/// (Vorbis), OpusTags (Opus), or the VORBIS_COMMENT metadata block of Ogg FLAC.
///
/// ```
///  Vorbis   packet 1: 0x01 "vorbis", version (LE32), channels, sample rate (LE32) at byte 12
///  Opus     granule positions count 48 kHz samples, whatever the input rate (RFC 7845 §4)
///  FLAC     packet 1: … "fLaC", STREAMINFO block header, STREAMINFO: sample rate in the 20 bits at byte 27
///  Vorbis   packet 2: 0x03 "vorbis" │ comments
///  Opus     packet 2: "OpusTags"    │ comments
///  FLAC     packet 1: 0x7F "FLAC" …; packets 2…: metadata blocks [last|type, 24-bit length, body]; type 4: comments
///  comments: vendor length (LE32), vendor, count (LE32), count × [length (LE32), "KEY=value" in UTF-8]
/// ```
///
/// Packets are reassembled from the pages' lacing values, for the first logical stream of the chain whose codec
/// is one of the three (a chain may multiplex several, Theora video beside Vorbis audio). Every length is
/// checked against the bytes there: a header from a broken or hostile source yields no tags, never a crash.
public struct OggStreamTags: Sendable, Equatable {
    public enum Codec: String, Sendable, Equatable {
        case vorbis = "Vorbis"
        case opus = "Opus"
        case flac = "FLAC"
    }

    public var codec: Codec
    /// The logical stream these come from: the chain's first Vorbis, Opus or FLAC stream.
    public var serial: UInt32
    /// Granule positions per second in that stream (its sample rate; 48,000 for Opus); `nil` when the
    /// identification header is too short or names a rate outside 1 kHz–768 kHz.
    public var granuleRate: Int?
    /// The first ARTIST and TITLE comments, if any (keys are case-insensitive).
    public var artist: String?
    public var title: String?

    /// What listeners are shown, as Icecast 2.5 builds it: `artist - title`, or whichever of them is present.
    public var displayTitle: String? {
        switch (artist, title) {
        case (let artist?, let title?): return "\(artist) - \(title)"
        case (let artist?, nil): return artist
        case (nil, let title?): return title
        case (nil, nil): return nil
        }
    }

    /// Reads the header pages of one chain (as `SourceIngest` sets them aside); `nil` when no stream in them is
    /// Vorbis, Opus or FLAC.
    public init?(headerPages: ByteBuffer) {
        var packets: [UInt32: [[UInt8]]] = [:]
        var partial: [UInt32: [UInt8]] = [:]
        var order: [UInt32] = []
        var bytes = headerPages
        while bytes.readableBytes > 0 {
            let scan = bytes.withUnsafeReadableBytes { OggPage.scan($0) }
            guard case .page(let page) = scan, let pageBytes = bytes.readBytes(length: page.length) else { break }
            if packets[page.serial] == nil {
                packets[page.serial] = []
                order.append(page.serial)
            }
            let segments = Int(pageBytes[26])
            var offset = 27 + segments
            var packet = page.flags & 0x01 != 0 ? partial[page.serial] ?? [] : []
            for index in 0..<segments {
                let lacing = Int(pageBytes[27 + index])
                packet += pageBytes[offset..<(offset + lacing)]
                offset += lacing
                if lacing < 255 {
                    packets[page.serial]!.append(packet)
                    packet = []
                }
            }
            partial[page.serial] = packet
        }
        for serial in order {
            guard let streamPackets = packets[serial], let first = streamPackets.first,
                let codec = Self.codec(ofFirstPacket: first)
            else { continue }
            self.codec = codec
            self.serial = serial
            self.granuleRate = Self.granuleRate(ofFirstPacket: first, codec: codec)
            for packet in streamPackets.dropFirst() {
                if let comments = Self.comments(in: packet, codec: codec) {
                    artist = Self.value(of: "ARTIST", in: comments)
                    title = Self.value(of: "TITLE", in: comments)
                    return
                }
            }
            return
        }
        return nil
    }

    static func codec(ofFirstPacket packet: [UInt8]) -> Codec? {
        if packet.starts(with: [0x01] + Array("vorbis".utf8)) { return .vorbis }
        if packet.starts(with: Array("OpusHead".utf8)) { return .opus }
        if packet.starts(with: [0x7F] + Array("FLAC".utf8)) { return .flac }
        return nil
    }

    static func granuleRate(ofFirstPacket packet: [UInt8], codec: Codec) -> Int? {
        let rate: Int
        switch codec {
        case .opus:
            return 48_000
        case .vorbis:
            guard packet.count >= 16 else { return nil }
            rate = (12..<16).reduce(0) { $0 | Int(packet[$1]) << (8 * ($1 - 12)) }
        case .flac:
            guard packet.count >= 30 else { return nil }
            rate = Int(packet[27]) << 12 | Int(packet[28]) << 4 | Int(packet[29]) >> 4
        }
        return (1_000...768_000).contains(rate) ? rate : nil
    }

    /// The comment list of a comment packet of `codec`, or `nil` when `packet` is not one.
    static func comments(in packet: [UInt8], codec: Codec) -> [String]? {
        switch codec {
        case .vorbis:
            guard packet.starts(with: [0x03] + Array("vorbis".utf8)) else { return nil }
            return commentList(packet, from: 7)
        case .opus:
            guard packet.starts(with: Array("OpusTags".utf8)) else { return nil }
            return commentList(packet, from: 8)
        case .flac:
            // A metadata block: type in the low 7 bits of the first byte, then a 24-bit length.
            guard packet.count >= 4, packet[0] & 0x7F == 4 else { return nil }
            return commentList(packet, from: 4)
        }
    }

    /// Reads `vendor length, vendor, count, count × (length, text)` from `start`; `nil` if any length overruns.
    static func commentList(_ packet: [UInt8], from start: Int) -> [String]? {
        var offset = start
        func readLength() -> Int? {
            guard offset + 4 <= packet.count else { return nil }
            let value = Int(packet[offset]) | Int(packet[offset + 1]) << 8 | Int(packet[offset + 2]) << 16 | Int(packet[offset + 3]) << 24
            offset += 4
            return value
        }
        guard let vendor = readLength(), vendor <= packet.count - offset else { return nil }
        offset += vendor
        guard let count = readLength() else { return nil }
        var comments: [String] = []
        for _ in 0..<min(count, packet.count) {
            guard let length = readLength(), length <= packet.count - offset else { return nil }
            comments.append(String(decoding: packet[offset..<(offset + length)], as: UTF8.self))
            offset += length
        }
        return comments
    }

    /// The value of the first `KEY=value` comment with this key, compared without case; `nil` if absent or empty.
    static func value(of key: String, in comments: [String]) -> String? {
        for comment in comments {
            guard let equals = comment.firstIndex(of: "="), comment[..<equals].uppercased() == key else { continue }
            let value = String(comment[comment.index(after: equals)...])
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
