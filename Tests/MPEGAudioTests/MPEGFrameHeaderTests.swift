import MPEGAudio
import Testing

/// One header pattern and everything the parser must derive from it, worked out by hand from the
/// ISO/IEC 11172-3 and 13818-3 tables (each case's comment shows the bits and the frame-length arithmetic).
struct HeaderCase: Sendable, CustomTestStringConvertible {
    var bytes: [UInt8]
    var version: MPEGVersion
    var layer: MPEGLayer
    var hasCRC: Bool
    var bitrate: Int
    var sampleRate: Int
    var hasPadding: Bool
    var channelMode: MPEGChannelMode
    var frameLength: Int
    var samplesPerFrame: Int

    /// `hex` is the four header bytes, e.g. "FF FB 90 64"; then the expected values in declaration order.
    init(
        _ hex: String,
        _ version: MPEGVersion,
        _ layer: MPEGLayer,
        crc: Bool,
        _ bitrate: Int,
        _ sampleRate: Int,
        pad: Bool,
        _ channelMode: MPEGChannelMode,
        _ length: Int,
        _ samples: Int
    ) {
        self.bytes = hex.split(separator: " ").map { UInt8($0, radix: 16)! }
        self.version = version
        self.layer = layer
        self.hasCRC = crc
        self.bitrate = bitrate
        self.sampleRate = sampleRate
        self.hasPadding = pad
        self.channelMode = channelMode
        self.frameLength = length
        self.samplesPerFrame = samples
    }

    var testDescription: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ")
    }

    static let all: [HeaderCase] = [
        // The classic: 1111 1011 (MPEG-1, L3, no CRC), 1001 0000 (128k, 44.1k), 0110 0100 (joint stereo).
        // 144 * 128000 / 44100 = 417.95 -> 417.
        .init("FF FB 90 64", .mpeg1, .layer3, crc: false, 128_000, 44_100, pad: false, .jointStereo, 417, 1152),
        // Same with the padding bit: 418.
        .init("FF FB 92 64", .mpeg1, .layer3, crc: false, 128_000, 44_100, pad: true, .jointStereo, 418, 1152),
        // 0101 0000: 64k 44.1k, mono: 144 * 64000 / 44100 = 208.98 -> 208.
        .init("FF FB 50 C4", .mpeg1, .layer3, crc: false, 64_000, 44_100, pad: false, .mono, 208, 1152),
        // 1110 0100: 320k 48k, stereo: 144 * 320000 / 48000 = 960.
        .init("FF FB E4 00", .mpeg1, .layer3, crc: false, 320_000, 48_000, pad: false, .stereo, 960, 1152),
        // 1110 1010: 320k 32k padded, mono: 144 * 320000 / 32000 + 1 = 1441.
        .init("FF FB EA C0", .mpeg1, .layer3, crc: false, 320_000, 32_000, pad: true, .mono, 1441, 1152),
        // 1111 0011 (MPEG-2, L3), 1000 0000 (64k, 22.05k), mono: 72 * 64000 / 22050 = 208.98 -> 208.
        .init("FF F3 80 C4", .mpeg2, .layer3, crc: false, 64_000, 22_050, pad: false, .mono, 208, 576),
        // 1111 0010 (MPEG-2, L3, CRC), 0001 0100 (8k, 24k): 72 * 8000 / 24000 = 24.
        .init("FF F2 14 00", .mpeg2, .layer3, crc: true, 8_000, 24_000, pad: false, .stereo, 24, 576),
        // 1110 0011 (MPEG-2.5, L3), 0100 1000 (32k, 8k), mono: 72 * 32000 / 8000 = 288.
        .init("FF E3 48 C4", .mpeg25, .layer3, crc: false, 32_000, 8_000, pad: false, .mono, 288, 576),
        // 1111 1111 (MPEG-1, L1), 1100 0000 (384k, 44.1k): (12 * 384000 / 44100) * 4 = 104 * 4 = 416.
        .init("FF FF C0 00", .mpeg1, .layer1, crc: false, 384_000, 44_100, pad: false, .stereo, 416, 384),
        // Padded Layer I adds a 4-byte slot: (104 + 1) * 4 = 420.
        .init("FF FF C2 00", .mpeg1, .layer1, crc: false, 384_000, 44_100, pad: true, .stereo, 420, 384),
        // 1111 0111 (MPEG-2, L1), 1110 0100 (256k, 24k), joint: (12 * 256000 / 24000) * 4 = 512.
        .init("FF F7 E4 40", .mpeg2, .layer1, crc: false, 256_000, 24_000, pad: false, .jointStereo, 512, 384),
        // 1111 1100 (MPEG-1, L2, CRC), 1010 0100 (192k, 48k), dual channel: 144 * 192000 / 48000 = 576.
        .init("FF FC A4 84", .mpeg1, .layer2, crc: true, 192_000, 48_000, pad: false, .dualChannel, 576, 1152),
        // 1111 0101 (MPEG-2, L2), 1110 1000 (160k, 16k): Layer II keeps 144 at MPEG-2: 1440.
        .init("FF F5 E8 00", .mpeg2, .layer2, crc: false, 160_000, 16_000, pad: false, .stereo, 1440, 1152),
        // 1110 0101 (MPEG-2.5, L2), 1110 1010 (160k, 8k, padded), mono: 2880 + 1, the longest frame there is.
        .init("FF E5 EA C0", .mpeg25, .layer2, crc: false, 160_000, 8_000, pad: true, .mono, 2881, 1152),
    ]
}

@Suite("MPEGFrameHeader")
struct MPEGFrameHeaderTests {
    @Test(arguments: HeaderCase.all)
    func parsesValidHeader(_ expected: HeaderCase) throws {
        let b = expected.bytes
        let header = try #require(MPEGFrameHeader(b[0], b[1], b[2], b[3]))
        #expect(header.version == expected.version)
        #expect(header.layer == expected.layer)
        #expect(header.hasCRC == expected.hasCRC)
        #expect(header.bitrate == expected.bitrate)
        #expect(header.sampleRate == expected.sampleRate)
        #expect(header.hasPadding == expected.hasPadding)
        #expect(header.channelMode == expected.channelMode)
        #expect(header.channelCount == (expected.channelMode == .mono ? 1 : 2))
        #expect(header.frameLength == expected.frameLength)
        #expect(header.samplesPerFrame == expected.samplesPerFrame)
    }

    @Test(
        "rejects invalid and unsupported headers",
        arguments: [
            [0xFE, 0xFB, 0x90, 0x64],  // sync: first byte not 0xFF
            [0xFF, 0x7B, 0x90, 0x64],  // sync: top bits of the second byte not all set
            [0xFF, 0xEB, 0x90, 0x64],  // version 01 is reserved
            [0xFF, 0xF9, 0x90, 0x64],  // layer 00 is reserved
            [0xFF, 0xFB, 0x00, 0x64],  // bitrate index 0: free format, unsupported
            [0xFF, 0xFB, 0xF0, 0x64],  // bitrate index 15 is bad
            [0xFF, 0xFB, 0x9C, 0x64],  // sample-rate index 3 is reserved
            [0xFF, 0xFB, 0x90, 0x66],  // emphasis 10 is reserved
            [0x49, 0x44, 0x33, 0x04],  // "ID3"
            [0x00, 0x00, 0x00, 0x00],
        ] as [[UInt8]]
    )
    func rejectsInvalidHeader(_ b: [UInt8]) {
        #expect(MPEGFrameHeader(b[0], b[1], b[2], b[3]) == nil)
    }

    @Test func compatibilityComparesStreamParametersOnly() throws {
        let cbr = try #require(MPEGFrameHeader(0xFF, 0xFB, 0x90, 0x64))  // 128k, joint stereo
        let vbr = try #require(MPEGFrameHeader(0xFF, 0xFA, 0xB2, 0x04))  // 192k padded, stereo, with CRC
        let mono = try #require(MPEGFrameHeader(0xFF, 0xFB, 0x90, 0xC4))
        let rate48k = try #require(MPEGFrameHeader(0xFF, 0xFB, 0x94, 0x64))
        let layer2 = try #require(MPEGFrameHeader(0xFF, 0xFD, 0x90, 0x64))
        let mpeg2 = try #require(MPEGFrameHeader(0xFF, 0xF3, 0x90, 0x64))

        #expect(cbr.isCompatible(with: vbr))
        #expect(vbr.isCompatible(with: cbr))
        #expect(!cbr.isCompatible(with: mono))
        #expect(!cbr.isCompatible(with: rate48k))
        #expect(!cbr.isCompatible(with: layer2))
        #expect(!cbr.isCompatible(with: mpeg2))
    }

    /// Every header the parser accepts has a frame no longer than the advertised maximum, and some reach it:
    /// the synchroniser's bounded buffering rests on this.
    @Test func maximumFrameLengthBoundsEveryValidHeader() {
        var longest = 0
        var valid = 0
        for b1 in UInt8(0xE0)...0xFF {
            for b2 in UInt8(0)...0xFF {
                for b3: UInt8 in [0x00, 0xC0, 0x01, 0x02, 0x03] {
                    guard let header = MPEGFrameHeader(0xFF, b1, b2, b3) else { continue }
                    valid += 1
                    longest = max(longest, header.frameLength)
                    #expect(header.frameLength >= 24)
                }
            }
        }
        #expect(longest == MPEGFrameHeader.maximumFrameLength)
        // 3 versions x 3 layers x 2 protection, 14 bitrates x 3 rates x 2 padding x 2 private, 4 of 5 b3 values.
        #expect(valid == 3 * 3 * 2 * 14 * 3 * 2 * 2 * 4)
    }
}
