import MPEGAudio
import Testing

@Suite("ADTS frames")
struct ADTSFrameSynchronizerTests {
    /// An ADTS frame of `length` bytes (header included): AAC-LC, `frequencyIndex`, `channels`, zero payload.
    static func frame(
        length: Int,
        frequencyIndex: Int = 4,
        channels: Int = 2,
        profile: Int = 1,
        crc: Bool = false,
        blocks: Int = 1
    ) -> [UInt8] {
        let header: [UInt8] = [
            0xFF,
            0xF0 | (crc ? 0x00 : 0x01),
            UInt8(profile << 6 | frequencyIndex << 2 | channels >> 2),
            UInt8((channels & 0x03) << 6 | (length >> 11) & 0x03),
            UInt8((length >> 3) & 0xFF),
            UInt8((length & 0x07) << 5 | 0x1F),
            UInt8(0xFC | (blocks - 1)),
        ]
        return header + [UInt8](repeating: 0, count: length - header.count)
    }

    static func frames(in bytes: [UInt8]) -> [(offset: Int, frame: ADTSFrame)] {
        ADTSFrameSynchronizer.frames(in: bytes)
    }

    @Test func headerFieldsAreRead() throws {
        let bytes = Self.frame(length: 371, frequencyIndex: 7, channels: 1, crc: true, blocks: 2)
        let header = try #require(bytes.withUnsafeBytes { ADTSFrameHeader($0, at: 0) })
        #expect(header.frameLength == 371)
        #expect(header.sampleRate == 22_050)
        #expect(header.channelCount == 1)
        #expect(header.hasCRC)
        #expect(header.rawDataBlocks == 2)
        #expect(header.samplesPerFrame == 2048)
        #expect(header.profileName == "AAC-LC")
        #expect(!header.isMPEG2)
    }

    @Test func everyFrameOfAVariableLengthStreamIsFoundWhatEverTheChunks() {
        let lengths = [371, 402, 12, 8191, 380, 9, 399]
        let stream = lengths.flatMap { Self.frame(length: $0) }
        let found = Self.frames(in: stream)
        #expect(found.map(\.frame.length) == lengths)
        // Fed a byte at a time, the synchroniser reports the same frames, each once it is whole.
        var synchronizer = ADTSFrameSynchronizer()
        var pending: [UInt8] = []
        var reported: [Int] = []
        for byte in stream {
            pending.append(byte)
            loop: while true {
                switch synchronizer.step(pending) {
                case .frame(let frame):
                    reported.append(frame.length)
                    pending.removeFirst(frame.length)
                case .skip(let count, _):
                    pending.removeFirst(count)
                case .needMoreData:
                    break loop
                }
            }
        }
        // The last frame waits for the header after it (or the end of the stream) only while searching.
        #expect(reported == lengths)
        #expect(synchronizer.statistics.garbageBytes == 0)
    }

    @Test func garbageIsSkippedAndCountedAndSyncIsRegained() {
        let garbage = Array("ADTS says: not a frame. \u{FF}\u{F1} here".utf8) + [0xFF, 0xF1, 0x50]
        let stream = Self.frame(length: 300) + Self.frame(length: 301) + garbage + Self.frame(length: 302)
            + Self.frame(length: 303)
        var synchronizer = ADTSFrameSynchronizer()
        var offset = 0
        var lengths: [Int] = []
        stream.withUnsafeBytes { all in
            while true {
                switch synchronizer.step(UnsafeRawBufferPointer(rebasing: all[offset...]), isEndOfStream: true) {
                case .frame(let frame):
                    lengths.append(frame.length)
                    offset += frame.length
                case .skip(let count, _): offset += count
                case .needMoreData: return
                }
            }
        }
        #expect(lengths == [300, 301, 302, 303])
        #expect(synchronizer.statistics.garbageBytes == garbage.count)
        #expect(synchronizer.statistics.resyncs == 1)
    }

    @Test func impossibleHeadersAreNotFrames() {
        // A frame length shorter than its own header, a reserved sampling-frequency index, MPEG audio's layer bits.
        var short = Self.frame(length: 7)
        short.append(contentsOf: Self.frame(length: 7))
        let reservedRate = Self.frame(length: 200, frequencyIndex: 13) + Self.frame(length: 200, frequencyIndex: 13)
        var layer = Self.frame(length: 200) + Self.frame(length: 200)
        layer[1] |= 0x02
        layer[201] |= 0x02
        for stream in [short, reservedRate, layer] {
            #expect(Self.frames(in: stream).isEmpty)
        }
        // With a CRC and four blocks, a frame needs 9 + 6 bytes of header before any audio.
        let positions = Self.frame(length: 15, crc: true, blocks: 4)
        #expect(positions.withUnsafeBytes { ADTSFrameHeader($0, at: 0) } == nil)
    }

    @Test func aTruncatedLastFrameIsNeverReported() {
        let stream = Self.frame(length: 300) + Self.frame(length: 300) + Array(Self.frame(length: 300).prefix(150))
        #expect(Self.frames(in: stream).map(\.offset) == [0, 300])
    }

    @Test func aChangeOfStreamParametersIsAResync() {
        let stream = Self.frame(length: 300) + Self.frame(length: 300) + Self.frame(length: 300, frequencyIndex: 3)
            + Self.frame(length: 300, frequencyIndex: 3)
        var synchronizer = ADTSFrameSynchronizer()
        var offset = 0
        var rates: [Int] = []
        stream.withUnsafeBytes { all in
            while case let step = synchronizer.step(UnsafeRawBufferPointer(rebasing: all[offset...]), isEndOfStream: true),
                step != .needMoreData
            {
                switch step {
                case .frame(let frame):
                    rates.append(frame.header.sampleRate)
                    offset += frame.length
                case .skip(let count, _): offset += count
                case .needMoreData: break
                }
            }
        }
        #expect(rates == [44_100, 44_100, 48_000, 48_000])
        #expect(synchronizer.statistics.resyncs == 1)
        #expect(synchronizer.statistics.garbageBytes == 0)
    }
}
