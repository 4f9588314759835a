import FloeCore
import NIOCore
import Testing

/// Chunked request bodies, fed whole and one byte at a time.
@Suite("Chunked body decoder")
struct ChunkedBodyDecoderTests {
    /// Decodes `wire` split into pieces of `piece` bytes; the body and whether it ended.
    func decode(_ wire: String, piece: Int) throws -> (String, Bool) {
        var decoder = ChunkedBodyDecoder()
        var body: [UInt8] = []
        var finished = false
        let bytes = Array(wire.utf8)
        for start in stride(from: 0, to: bytes.count, by: piece) {
            let (parts, done) = try decoder.decode(ByteBuffer(bytes: bytes[start..<min(start + piece, bytes.count)]))
            for part in parts { body += part.readableBytesView }
            finished = done
        }
        return (String(decoding: body, as: UTF8.self), finished)
    }

    static let wire = "4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n"

    @Test(arguments: [1, 2, 3, 7, 1000])
    func bodiesWithExtensionsAndTrailersDecodeInAnyPieces(piece: Int) throws {
        let (body, finished) = try decode(Self.wire, piece: piece)
        #expect(body == "Wikipedia in \r\n\r\nchunks.")
        #expect(finished)
    }

    @Test func upperAndLowerCaseHexAndBareLineFeeds() throws {
        let (body, finished) = try decode("a\nabcdefghij\n1A\r\n\(String(repeating: "z", count: 26))\r\n0\n\n", piece: 5)
        #expect(body == "abcdefghij" + String(repeating: "z", count: 26) && finished)
    }

    @Test func leadingZerosDoNotCountTowardsTheSizeLimit() throws {
        let (body, finished) = try decode("00000000000000000003\r\nabc\r\n0000\r\n\r\n", piece: 4)
        #expect(body == "abc" && finished)
    }

    @Test func anUnfinishedBodyIsNotFinished() throws {
        let (body, finished) = try decode("5\r\nhel", piece: 2)
        #expect(body == "hel" && !finished)
    }

    @Test func malformedChunksAreErrors() {
        #expect(throws: ChunkedBodyDecoder.DecodeError.self) { try decode("zz\r\nabc\r\n", piece: 3) }
        #expect(throws: ChunkedBodyDecoder.DecodeError.missingChunkEnd) { try decode("3\r\nabcXY\r\n", piece: 1) }
        #expect(throws: ChunkedBodyDecoder.DecodeError.self) { try decode("-1\r\n", piece: 100) }
        #expect(throws: ChunkedBodyDecoder.DecodeError.self) { try decode("-0\r\n\r\n", piece: 100) }
        #expect(throws: ChunkedBodyDecoder.DecodeError.self) { try decode("+1a\r\n", piece: 100) }
        #expect(throws: ChunkedBodyDecoder.DecodeError.lineTooLong) {
            try decode(String(repeating: "1", count: 5000), piece: 100)
        }
    }
}
