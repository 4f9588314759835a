/// A parsed 4-byte MPEG audio frame header (MPEG-1, MPEG-2, MPEG-2.5; Layers I, II, III).
///
/// ```
///    byte 0     byte 1     byte 2     byte 3
///  +----------+----------+----------+----------+
///  | 11111111 | 111VVLLP | BBBBSSpx | CCeecoEE |
///  +----------+----------+----------+----------+
///   1..1  sync word: 11 set bits        BBBB  bitrate index (0 free format, 15 bad)
///   VV    version, see MPEGVersion      SS    sample-rate index (11 reserved)
///   LL    layer, see MPEGLayer          p     padding: one extra slot
///   P     protection: 0 = CRC follows   x     private
///   CC    channel mode                  ee    mode extension (joint stereo)
///   c o   copyright, original            EE    emphasis (10 reserved)
/// ```
///
/// The initialiser only accepts headers a decoder can frame without further context: free-format streams
/// (bitrate index 0) have no computable frame length and are rejected, as is every reserved value.
///
/// The stored properties are derived from the four bytes once, so reading them on the hot path costs nothing.
public struct MPEGFrameHeader: FrameHeader {
    /// MPEG-1, MPEG-2 or MPEG-2.5.
    public var version: MPEGVersion
    /// Layer I, II or III.
    public var layer: MPEGLayer
    /// Whether a 16-bit CRC follows the header (the protection bit is 0).
    public var hasCRC: Bool
    /// Bits per second, e.g. `128_000`.
    public var bitrate: Int
    /// Samples per second per channel, e.g. `44_100`.
    public var sampleRate: Int
    /// Whether the frame carries one extra slot (4 bytes in Layer I, 1 byte otherwise).
    public var hasPadding: Bool
    /// Stereo, joint stereo, dual channel or mono.
    public var channelMode: MPEGChannelMode
    /// 1 for mono, else 2.
    public var channelCount: Int
    /// The whole frame in bytes, header, CRC and padding included.
    public var frameLength: Int
    /// 384 (Layer I), 1152 (Layer II, and Layer III at MPEG-1), 576 (Layer III at MPEG-2 and MPEG-2.5).
    public var samplesPerFrame: Int

    /// The longest frame any valid header describes: MPEG-2.5 Layer II at 160 kbit/s, 8 kHz, padded
    /// (144 × 160000 / 8000 + 1). A synchroniser never needs more than this plus one header to decide.
    public static let maximumFrameLength = 2881

    public static let byteCount = 4

    /// Parses a header from its four bytes, in stream order.
    ///
    /// Returns `nil` unless the sync word is present and version, layer, bitrate index, sample-rate index and
    /// emphasis all hold supported, non-reserved values.
    public init?(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        guard b0 == 0xFF, b1 & 0xE0 == 0xE0 else { return nil }

        let version: MPEGVersion
        switch (b1 >> 3) & 0x03 {
        case 0b00: version = .mpeg25
        case 0b10: version = .mpeg2
        case 0b11: version = .mpeg1
        default: return nil
        }

        let layer: MPEGLayer
        switch (b1 >> 1) & 0x03 {
        case 0b01: layer = .layer3
        case 0b10: layer = .layer2
        case 0b11: layer = .layer1
        default: return nil
        }

        let bitrateIndex = Int(b2 >> 4)
        let sampleRateIndex = Int((b2 >> 2) & 0x03)
        guard bitrateIndex != 0, bitrateIndex != 15, sampleRateIndex != 3, b3 & 0x03 != 0b10 else { return nil }

        let channelMode: MPEGChannelMode
        switch b3 >> 6 {
        case 0b00: channelMode = .stereo
        case 0b01: channelMode = .jointStereo
        case 0b10: channelMode = .dualChannel
        default: channelMode = .mono
        }

        let bitrate = Self.bitrateKbps(version: version, layer: layer, index: bitrateIndex) * 1000
        let sampleRate = Self.sampleRate(version: version, index: sampleRateIndex)
        let padding = Int((b2 >> 1) & 0x01)

        // Integer division exactly as decoders do it: the encoder spreads the fraction with padding slots.
        let frameLength: Int
        let samplesPerFrame: Int
        switch layer {
        case .layer1:
            frameLength = (12 * bitrate / sampleRate + padding) * 4
            samplesPerFrame = 384
        case .layer2:
            frameLength = 144 * bitrate / sampleRate + padding
            samplesPerFrame = 1152
        case .layer3 where version == .mpeg1:
            frameLength = 144 * bitrate / sampleRate + padding
            samplesPerFrame = 1152
        case .layer3:
            frameLength = 72 * bitrate / sampleRate + padding
            samplesPerFrame = 576
        }

        self.version = version
        self.layer = layer
        self.hasCRC = b1 & 0x01 == 0
        self.bitrate = bitrate
        self.sampleRate = sampleRate
        self.hasPadding = padding == 1
        self.channelMode = channelMode
        self.channelCount = channelMode == .mono ? 1 : 2
        self.frameLength = frameLength
        self.samplesPerFrame = samplesPerFrame
    }

    /// Same stream parameters: version, layer, sample rate and channel count.
    ///
    /// Bitrate and padding change from frame to frame in VBR streams, and stereo/joint stereo alternate, so
    /// they are not compared. Two consecutive valid headers that agree here confirm a sync; a header that does
    /// not agree with the locked stream means the sync was false or the stream changed.
    public func isCompatible(with other: MPEGFrameHeader) -> Bool {
        version == other.version && layer == other.layer && sampleRate == other.sampleRate
            && channelCount == other.channelCount
    }
}

extension MPEGFrameHeader {
    /// Parses the header at `offset`. - Precondition: `offset + 4 <= bytes.count`.
    @inline(__always)
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.init(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3])
    }

    /// Whether the bytes from `offset` to the end of `bytes` (up to four) could begin a valid header.
    @inline(__always)
    public static func couldStart(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        let available = bytes.count - offset
        guard available >= 1, bytes[offset] == 0xFF else { return false }
        guard available >= 2 else { return true }
        let b1 = bytes[offset + 1]
        // Sync bits set, version not 01, layer not 00.
        guard b1 & 0xE0 == 0xE0, b1 & 0x18 != 0x08, b1 & 0x06 != 0 else { return false }
        guard available >= 3 else { return true }
        let b2 = bytes[offset + 2]
        return b2 & 0xF0 != 0 && b2 & 0xF0 != 0xF0 && b2 & 0x0C != 0x0C
    }

    /// Size of the Layer III side information that follows the header (and CRC): where a Xing/Info tag starts.
    var sideInformationSize: Int {
        switch (version, channelCount) {
        case (.mpeg1, 1): 17
        case (.mpeg1, _): 32
        case (_, 1): 9
        case (_, _): 17
        }
    }

    /// kbit/s for a bitrate index in 1...14; rows per ISO/IEC 11172-3 and 13818-3.
    private static func bitrateKbps(version: MPEGVersion, layer: MPEGLayer, index: Int) -> Int {
        switch (version, layer) {
        case (.mpeg1, .layer1): mpeg1Layer1Kbps[index]
        case (.mpeg1, .layer2): mpeg1Layer2Kbps[index]
        case (.mpeg1, .layer3): mpeg1Layer3Kbps[index]
        case (_, .layer1): mpeg2Layer1Kbps[index]
        case (_, _): mpeg2Layer2And3Kbps[index]
        }
    }

    /// Hz for a sample-rate index in 0...2: MPEG-2 halves the MPEG-1 rates, MPEG-2.5 quarters them.
    private static func sampleRate(version: MPEGVersion, index: Int) -> Int {
        let mpeg1 = index == 0 ? 44_100 : index == 1 ? 48_000 : 32_000
        switch version {
        case .mpeg1: return mpeg1
        case .mpeg2: return mpeg1 / 2
        case .mpeg25: return mpeg1 / 4
        }
    }

    // Index 0 (free format) and 15 (bad) are rejected before lookup; their slots hold 0.
    private static let mpeg1Layer1Kbps = [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0]
    private static let mpeg1Layer2Kbps = [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0]
    private static let mpeg1Layer3Kbps = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
    private static let mpeg2Layer1Kbps = [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0]
    private static let mpeg2Layer2And3Kbps = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0]
}
