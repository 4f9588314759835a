import FloeCore
import NIOCore
import Testing

@Suite("ICY metadata")
struct ICYTests {
    @Test func blockIsLengthBytePlusPaddedPayloadWithoutEscaping() throws {
        let metadata = try #require(ICYMetadata(version: 1, title: "AC/DC - It's été"))
        let bytes = Array(metadata.encoded.readableBytesView)
        let payload = Array("StreamTitle='AC/DC - It's été';".utf8)
        #expect(Int(bytes[0]) == (payload.count + 1 + 15) / 16)
        #expect(bytes.count == 1 + Int(bytes[0]) * 16)
        #expect(Array(bytes[1...payload.count]) == payload)
        #expect(bytes[(payload.count + 1)...].allSatisfy { $0 == 0 })
    }

    @Test func emptyTitleIsOneBlock() {
        let bytes = Array(ICYMetadata.empty.encoded.readableBytesView)
        #expect(bytes.count == 17)
        #expect(bytes[0] == 1)
        #expect(String(decoding: bytes[1..<16], as: UTF8.self) == "StreamTitle='';")
    }

    @Test func tooLongTitleIsRefused() {
        #expect(ICYMetadata(version: 1, title: String(repeating: "x", count: 4080)) == nil)
    }

    @Test func interleaverPlacesBlocksAtExactIntervalsAndSendsTitleOnce() throws {
        var interleaver = ICYInterleaver(interval: 100)
        let first = try #require(ICYMetadata(version: 3, title: "One"))
        let second = try #require(ICYMetadata(version: 4, title: "Two"))
        var out: [UInt8] = []
        let audio = (0..<250).map { UInt8($0 % 200 + 1) }
        interleaver.interleave(ByteBuffer(bytes: audio[0..<130]), metadata: first) { out += $0.readableBytesView }
        interleaver.interleave(ByteBuffer(bytes: audio[130..<210]), metadata: first) { out += $0.readableBytesView }
        interleaver.interleave(ByteBuffer(bytes: audio[210...]), metadata: second) { out += $0.readableBytesView }
        // 100 audio, block(One), 100 audio, "\0" (unchanged), 50 audio.
        let firstBlock = Array(first.encoded.readableBytesView)
        #expect(Array(out[0..<100]) == Array(audio[0..<100]))
        #expect(Array(out[100..<(100 + firstBlock.count)]) == firstBlock)
        let afterFirst = 100 + firstBlock.count
        #expect(Array(out[afterFirst..<(afterFirst + 100)]) == Array(audio[100..<200]))
        #expect(out[afterFirst + 100] == 0)
        #expect(Array(out[(afterFirst + 101)...]) == Array(audio[200...]))
    }

    @Test(arguments: [
        ("song", "It%27s", nil as String?, "It's"),
        ("song", "%C3%A9t%C3%A9", nil, "été"),  // UTF-8 without a charset stays UTF-8
        ("song", "%E9t%E9", nil, "été"),  // Latin-1 bytes without a charset
        ("song", "%E9t%E9", "ISO-8859-1", "été"),
        ("song", "%C3%A9", "UTF-8", "é"),
        // As iconv reads them (a probe found these read as Latin-1).
        ("song", "%A4uro %BD", "ISO-8859-15", "€uro œ"),
        ("song", "%80 %93quoted%94 %85", "windows-1252", "€ “quoted” …"),
        ("song", "%FE%FF%00h%00%E9", "UTF-16", "hé"),
        ("song", "%00h%00%E9", "UTF-16", "hé"),
        ("song", "Before%00After", nil, "Before"),  // a title ends at a NUL, as in Icecast
    ])
    func metadataUpdatesDecodeCharsets(name: String, raw: String, charset: String?, expected: String) throws {
        let bytes = QueryString.percentDecode(Substring(raw))
        let update = try #require(MetadataUpdate(song: bytes, artist: nil, title: nil, charset: charset))
        #expect(update.title == expected)
    }

    @Test func artistAndTitleAreJoined() throws {
        let update = try #require(MetadataUpdate(song: nil, artist: Array("Art".utf8), title: Array("T".utf8), charset: nil))
        #expect(update.title == "Art - T")
        #expect(MetadataUpdate(song: nil, artist: nil, title: nil, charset: nil) == nil)
    }
}
