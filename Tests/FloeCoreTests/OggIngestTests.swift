import FloeCore
import NIOCore
import Testing

@Suite("Ogg pages and tags")
struct OggIngestTests {
    /// One Ogg page holding `packets` (each ending on it), with a correct CRC.
    static func page(_ packets: [[UInt8]], serial: UInt32 = 7, sequence: UInt32, granule: UInt64, flags: UInt8 = 0, continued: [UInt8]? = nil) -> [UInt8] {
        var lacing: [UInt8] = []
        var body: [UInt8] = []
        for packet in packets {
            var remaining = packet.count
            while remaining >= 255 {
                lacing.append(255)
                remaining -= 255
            }
            lacing.append(UInt8(remaining))
            body += packet
        }
        if let continued {
            // A packet that goes on in the next page: whole 255-byte segments only.
            lacing += [UInt8](repeating: 255, count: continued.count / 255)
            body += continued
        }
        var page = Array("OggS".utf8) + [0, flags]
        page += (0..<8).map { UInt8(truncatingIfNeeded: granule >> (8 * UInt64($0))) }
        page += (0..<4).map { UInt8(truncatingIfNeeded: serial >> (8 * UInt32($0))) }
        page += (0..<4).map { UInt8(truncatingIfNeeded: sequence >> (8 * UInt32($0))) }
        page += [0, 0, 0, 0, UInt8(lacing.count)] + lacing + body
        // The CRC of RFC 3533: polynomial 0x04C11DB7, unreflected, initial 0, over the page with a zero CRC field.
        var crc: UInt32 = 0
        for byte in page {
            crc ^= UInt32(byte) << 24
            for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        }
        page.replaceSubrange(22..<26, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt32($0))) })
        return page
    }

    static func comments(_ list: [String], vendor: String = "test") -> [UInt8] {
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var bytes = le32(vendor.utf8.count) + Array(vendor.utf8) + le32(list.count)
        for comment in list { bytes += le32(comment.utf8.count) + Array(comment.utf8) }
        return bytes
    }

    /// A Vorbis chain's header pages, the comment packet long enough to span two pages.
    static func vorbisHeader(title: String, serial: UInt32 = 7) -> [UInt8] {
        let identification = [0x01] + Array("vorbis".utf8) + [UInt8](repeating: 1, count: 23)
        let comment = [0x03] + Array("vorbis".utf8) + comments(["ENCODER=" + String(repeating: "x", count: 600), "title=\(title)", "ARTIST=The Band"]) + [1]
        let split = 510
        let setup = [0x05] + Array("vorbis".utf8) + [UInt8](repeating: 2, count: 40)
        return page([identification], serial: serial, sequence: 0, granule: 0, flags: 0x02)
            + page([], serial: serial, sequence: 1, granule: .max, continued: Array(comment[..<split]))
            + page([Array(comment[split...]), setup], serial: serial, sequence: 2, granule: 0, flags: 0x01)
    }

    @Test func aPageWithABadCRCIsGarbageAndTheNextPageIsFound() {
        let good = Self.page([[1, 2, 3]], sequence: 5, granule: 100)
        var bad = Self.page([[4, 5, 6]], sequence: 6, granule: 200)
        bad[bad.count - 1] ^= 0x01
        let stream = bad + good
        var offset = 0
        var pages: [Int] = []
        var skipped = 0
        stream.withUnsafeBytes { all in
            while offset < all.count {
                switch OggPage.scan(UnsafeRawBufferPointer(rebasing: all[offset...])) {
                case .page(let page):
                    pages.append(offset)
                    offset += page.length
                case .garbage(let count):
                    skipped += count
                    offset += count
                case .needMoreData:
                    return
                }
            }
        }
        #expect(pages == [bad.count])
        #expect(skipped == bad.count)
    }

    @Test func eachChainsTitleAndCodecComeWithItsFirstBlockAndBrokenPagesAreDropped() throws {
        var ingest = SourceIngest(format: .ogg, passthroughBlockBytes: 1)
        let data1 = Self.page([[9, 9, 9]], sequence: 3, granule: 1024)
        var broken = Self.page([[8, 8, 8]], sequence: 4, granule: 2048)
        broken[30] ^= 0xFF
        let chain2 = Self.vorbisHeader(title: "Second", serial: 8)
        let data2 = Self.page([[7, 7, 7]], serial: 8, sequence: 3, granule: 1024)
        let stream = Self.vorbisHeader(title: "First") + data1 + broken + chain2 + data2
        let outputs = ingest.receive(ByteBuffer(bytes: stream), at: .uptimeNanoseconds(0))

        let tagged = outputs.compactMap(\.chainTags)
        #expect(tagged.map(\.displayTitle) == ["The Band - First", "The Band - Second"])
        #expect(tagged.allSatisfy { $0.codec == .vorbis })
        // Relayed: the first chain's data page, then the second chain in-band (header, then data); never the
        // broken page.
        let relayed = outputs.flatMap { Array($0.bytes.readableBytesView) }
        #expect(relayed == data1 + chain2 + data2)
        #expect(ingest.framing.garbageBytes == broken.count)
        #expect(ingest.framing.resyncs == 1)
    }

    @Test(arguments: [
        ("overlong vendor", [0x03] + Array("vorbis".utf8) + [0xFF, 0xFF, 0xFF, 0x7F]),
        ("overlong comment", [0x03] + Array("vorbis".utf8) + [0, 0, 0, 0, 1, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0x41]),
        ("truncated count", [0x03] + Array("vorbis".utf8) + [0, 0, 0, 0, 1]),
        ("huge count", [0x03] + Array("vorbis".utf8) + [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]),
    ] as [(String, [UInt8])])
    func brokenCommentHeadersGiveNoTags(name: String, comment: [UInt8]) {
        let identification = [0x01] + Array("vorbis".utf8) + [UInt8](repeating: 1, count: 23)
        let header = Self.page([identification], sequence: 0, granule: 0, flags: 0x02) + Self.page([comment], sequence: 1, granule: 0)
        let tags = OggStreamTags(headerPages: ByteBuffer(bytes: header))
        #expect(tags?.codec == .vorbis, "\(name)")
        #expect(tags?.displayTitle == nil, "\(name)")
    }

    @Test func opusAndFLACTagsAreRead() {
        let opus = Self.page([Array("OpusHead".utf8) + [1, 2, 0, 0]], sequence: 0, granule: 0, flags: 0x02)
            + Self.page([Array("OpusTags".utf8) + Self.comments(["TITLE=Opus Song"])], sequence: 1, granule: 0)
        let opusTags = OggStreamTags(headerPages: ByteBuffer(bytes: opus))
        #expect(opusTags?.codec == .opus && opusTags?.title == "Opus Song" && opusTags?.artist == nil)
        #expect(opusTags?.displayTitle == "Opus Song")
        let streamInfo = [0x7F] + Array("FLAC".utf8) + [1, 0, 0, 1] + Array("fLaC".utf8) + [0, 0, 0, 34] + [UInt8](repeating: 0, count: 34)
        let block = Self.comments(["ARTIST=Flac Band"])
        let commentBlock = [0x84, 0, UInt8(block.count >> 8), UInt8(block.count & 0xFF)] + block
        let flac = Self.page([streamInfo], sequence: 0, granule: 0, flags: 0x02) + Self.page([commentBlock], sequence: 1, granule: 0)
        #expect(OggStreamTags(headerPages: ByteBuffer(bytes: flac))?.displayTitle == "Flac Band")
        // Speex (or anything else) is no codec of the three: no tags.
        let speex = Self.page([Array("Speex   ".utf8) + [0, 0]], sequence: 0, granule: 0, flags: 0x02)
        #expect(OggStreamTags(headerPages: ByteBuffer(bytes: speex)) == nil)
    }

    /// The clock rate comes from each codec's identification header: Vorbis's sample rate, FLAC's STREAMINFO,
    /// and 48 kHz for any Opus stream; an absurd rate gives none.
    @Test func granuleRatesComeFromTheIdentificationHeaders() {
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        let vorbis = [0x01] + Array("vorbis".utf8) + le32(0) + [2] + le32(22_050) + [UInt8](repeating: 0, count: 14)
        #expect(OggStreamTags(headerPages: ByteBuffer(bytes: Self.page([vorbis], serial: 9, sequence: 0, granule: 0, flags: 0x02)))?.granuleRate == 22_050)
        let absurd = [0x01] + Array("vorbis".utf8) + le32(0) + [2] + le32(5_000_000) + [UInt8](repeating: 0, count: 14)
        let absurdTags = OggStreamTags(headerPages: ByteBuffer(bytes: Self.page([absurd], sequence: 0, granule: 0, flags: 0x02)))
        #expect(absurdTags?.codec == .vorbis && absurdTags?.granuleRate == nil)
        // STREAMINFO: block sizes (4 bytes), frame sizes (6), then 20 bits of sample rate: 96,000 = 0x17700.
        let streamInfo = [0x7F] + Array("FLAC".utf8) + [1, 0, 0, 1] + Array("fLaC".utf8) + [0, 0, 0, 34]
            + [UInt8](repeating: 0, count: 10) + [0x17, 0x70, 0x00] + [UInt8](repeating: 0, count: 21)
        #expect(OggStreamTags(headerPages: ByteBuffer(bytes: Self.page([streamInfo], sequence: 0, granule: 0, flags: 0x02)))?.granuleRate == 96_000)
        let opus = Self.page([Array("OpusHead".utf8) + [1, 2, 0, 0] + le32(44_100)], serial: 3, sequence: 0, granule: 0, flags: 0x02)
        let opusTags = OggStreamTags(headerPages: ByteBuffer(bytes: opus))
        #expect(opusTags?.granuleRate == 48_000 && opusTags?.serial == 3)
    }

    /// Each page that moves the audio stream's position on reports the samples and the stream's bytes since the
    /// last one; other streams, pages without a position, and positions that go back or leap count nothing.
    @Test func theGranuleClockCountsTheAudioStreamsSamplesAndBytes() throws {
        let opus = Self.page([Array("OpusHead".utf8) + [1, 2, 0, 0]], serial: 5, sequence: 0, granule: 0, flags: 0x02)
        let tags = try #require(OggStreamTags(headerPages: ByteBuffer(bytes: opus)))
        var clock = try #require(OggGranuleClock(tags: tags))
        /// A page of `body` bytes (27 + 1 + body in all) through the clock.
        func advance(serial: UInt32 = 5, granule: UInt64, body: Int = 72) -> [Int]? {
            let bytes = Self.page([[UInt8](repeating: 1, count: body)], serial: serial, sequence: 1, granule: granule)
            guard case .page(let page) = bytes.withUnsafeBytes({ OggPage.scan($0) }) else { return [-1] }
            return clock.advance(by: page).map { [$0.samples, $0.bytes] }
        }
        #expect(advance(granule: 960) == [960, 100])
        #expect(advance(serial: 6, granule: 90_000) == nil, "another stream of the chain")
        #expect(advance(granule: .max, body: 200) == nil, "no packet ends on this page")
        #expect(advance(granule: 2880, body: 22) == [1920, 228 + 50])
        #expect(advance(granule: 2880) == nil)
        #expect(advance(granule: 1000) == nil, "back in time: a restarted encoder")
        #expect(advance(granule: 1960) == [960, 100], "counting goes on from there")
        #expect(advance(granule: 1960 + 61 * 48_000) == nil, "a leap of more than a minute")
        #expect(advance(granule: 1960 + 61 * 48_000 + 480) == [480, 100])
        // A page of 28 bytes may say at most 28 / 25 s (a hostile source running media time up by centuries).
        #expect(advance(granule: 1960 + 61 * 48_000 + 480 + 2 * 48_000, body: 0) == nil)
    }

    /// Ogg blocks carry their play time by the granule positions, and drive the ingest's clock: media time and
    /// sample rate for status, and burst and queue durations that do not guess at a bitrate.
    @Test func oggBlocksCarryTheirPlayTime() {
        var ingest = SourceIngest(format: .ogg, passthroughBlockBytes: 1)
        let header = Self.page([Array("OpusHead".utf8) + [1, 2, 0, 0]], sequence: 0, granule: 0, flags: 0x02)
            + Self.page([Array("OpusTags".utf8) + Self.comments([])], sequence: 1, granule: 0)
        let data = (1...4).flatMap { Self.page([[UInt8](repeating: 7, count: 200)], sequence: UInt32($0 + 1), granule: UInt64($0) * 24_000) }
        let outputs = ingest.receive(ByteBuffer(bytes: header + data), at: .uptimeNanoseconds(0))
        #expect(outputs.map(\.mediaDuration) == Array(repeating: .milliseconds(500), count: 4))
        #expect(ingest.clock.mediaTime == .seconds(2))
        #expect(ingest.clock.sampleRate == 48_000)
        #expect(ingest.clock.measuredBitrate == data.count * 8 / 2)
    }
}
