import FloeCore
import NIOCore
import Testing

@Suite("ICY de-interleaving")
struct ICYDeinterleaverTests {
    /// What the interleaver writes, the de-interleaver takes apart: the audio byte for byte, each title once, in
    /// whatever pieces the network delivers.
    @Test(arguments: [1, 7, 100, 101, 4096])
    func undoesTheInterleaverInPiecesOfAnySize(piece: Int) throws {
        let audio = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var interleaver = ICYInterleaver(interval: 100)
        var wire: [UInt8] = []
        let titles = ["First", "Second: it's été", "Third"]
        for (index, chunk) in stride(from: 0, to: audio.count, by: 1_000).enumerated() {
            let metadata = try #require(ICYMetadata(version: index, title: titles[min(index, 2)]))
            interleaver.interleave(ByteBuffer(bytes: audio[chunk..<chunk + 1_000]), metadata: metadata) {
                wire += Array($0.readableBytesView)
            }
        }

        var deinterleaver = ICYDeinterleaver(interval: 100)
        var heard: [UInt8] = []
        var seenTitles: [String] = []
        for start in stride(from: 0, to: wire.count, by: piece) {
            for part in deinterleaver.receive(ByteBuffer(bytes: wire[start..<min(start + piece, wire.count)])) {
                switch part {
                case .audio(let bytes): heard += Array(bytes.readableBytesView)
                case .title(let title): seenTitles.append(title)
                }
            }
        }
        #expect(heard == audio)
        #expect(seenTitles == titles)
    }

    @Test func titlesMayHoldApostrophesAndLatin1() {
        #expect(ICYDeinterleaverTests.title(in: Array("StreamTitle='Rock 'n' Roll';StreamUrl='';".utf8)) == "Rock 'n' Roll")
        #expect(ICYDeinterleaverTests.title(in: [UInt8]("StreamTitle='Caf".utf8) + [0xE9] + [UInt8]("';".utf8)) == "Café")
        #expect(ICYDeinterleaverTests.title(in: Array("StreamTitle='No semicolon'".utf8)) == "No semicolon")
        #expect(ICYDeinterleaverTests.title(in: Array("StreamUrl='http://x';".utf8)) == nil, "no StreamTitle: no title")
    }

    /// One metadata block with `payload`, after 4 audio bytes; the title it yields, if any.
    static func title(in payload: [UInt8]) -> String? {
        let blocks = (payload.count + 15) / 16
        let wire = [1, 2, 3, 4, UInt8(blocks)] + payload + [UInt8](repeating: 0, count: blocks * 16 - payload.count)
        var deinterleaver = ICYDeinterleaver(interval: 4)
        for part in deinterleaver.receive(ByteBuffer(bytes: wire)) {
            if case .title(let title) = part { return title }
        }
        return nil
    }
}
