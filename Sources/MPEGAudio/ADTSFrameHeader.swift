/// A parsed ADTS header (ISO/IEC 13818-7 and 14496-3): the 7-byte header in front of each AAC frame of a stream
/// such as `audio/aac` or `audio/aacp`.
///
/// ```
///    byte 0     byte 1     byte 2     byte 3     byte 4     byte 5     byte 6
///  +----------+----------+----------+----------+----------+----------+----------+
///  | 11111111 | 1111ILLp | PPSSSSxC | CCochsLL | LLLLLLLL | LLLFFFFF | FFFFFFRR |
///  +----------+----------+----------+----------+----------+----------+----------+
///   1..1  sync word: 12 set bits          SSSS  sampling-frequency index (13–15 invalid)
///   I     ID: 0 MPEG-4, 1 MPEG-2           CCC   channel configuration (0: in the stream's PCE)
///   LL    layer: always 00                 L…L   frame length, 13 bits, this header included
///   p     protection absent: 0 = CRC       F…F   buffer fullness (0x7FF: variable bitrate)
///   PP    profile: audio object type − 1   RR    raw data blocks in the frame − 1
///   x o c h s  private, original, home, copyright bits (ignored)
/// ```
///
/// The layer bits set to 00 are what separates ADTS from MPEG audio, whose layer is never 00. HE-AAC and HE-AACv2
/// travel in ADTS as AAC-LC at the core sampling rate (half the output rate): their frames and durations are
/// exactly those of the core, so the frame clock is right for all three.
public struct ADTSFrameHeader: FrameHeader {
    /// MPEG-4 (ID 0) or MPEG-2 (ID 1) AAC.
    public var isMPEG2: Bool
    /// Audio object type: profile + 1 (1 Main, 2 LC, 3 SSR, 4 LTP).
    public var audioObjectType: Int
    /// The sampling-frequency index, 0...12.
    public var samplingFrequencyIndex: Int
    /// Samples per second per channel of the AAC core, e.g. `44_100` (an HE-AAC decoder outputs twice this).
    public var sampleRate: Int
    /// Channel configuration: 1 mono, 2 stereo, up to 7 (7.1); 0 when a program config element defines them.
    public var channelConfiguration: Int
    /// Whether a 16-bit CRC follows the fixed header.
    public var hasCRC: Bool
    /// The whole frame in bytes, this header included.
    public var frameLength: Int
    /// Raw data blocks in the frame (1...4), each 1024 samples.
    public var rawDataBlocks: Int

    public static let byteCount = 7
    /// The 13-bit frame length field's largest value.
    public static let maximumFrameLength = 8191

    /// Samples per channel in the frame: 1024 per raw data block.
    public var samplesPerFrame: Int { 1024 * rawDataBlocks }

    /// The header and its CRC, if any: a frame must be longer than this to hold any audio.
    public var headerLength: Int { hasCRC ? 9 : 7 }

    /// Hz for each sampling-frequency index (ISO/IEC 14496-3, 1.6.3.4).
    public static let sampleRates = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350]

    /// Parses the header at `offset`; `nil` without the sync word and layer 00, with an invalid sampling-frequency
    /// index, or with a frame length too short to hold its own header and one byte of audio.
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        let b1 = bytes[offset + 1], b2 = bytes[offset + 2], b3 = bytes[offset + 3]
        guard bytes[offset] == 0xFF, b1 & 0xF6 == 0xF0 else { return nil }
        let frequencyIndex = Int((b2 >> 2) & 0x0F)
        guard frequencyIndex < Self.sampleRates.count else { return nil }
        self.isMPEG2 = b1 & 0x08 != 0
        self.hasCRC = b1 & 0x01 == 0
        self.audioObjectType = Int(b2 >> 6) + 1
        self.samplingFrequencyIndex = frequencyIndex
        self.sampleRate = Self.sampleRates[frequencyIndex]
        self.channelConfiguration = Int((b2 & 0x01) << 2 | b3 >> 6)
        self.frameLength = Int(b3 & 0x03) << 11 | Int(bytes[offset + 4]) << 3 | Int(bytes[offset + 5] >> 5)
        self.rawDataBlocks = Int(bytes[offset + 6] & 0x03) + 1
        // With a CRC, a frame of several blocks also carries their positions (2 bytes each after the first).
        let minimumLength = headerLength + (hasCRC ? 2 * (rawDataBlocks - 1) : 0) + 1
        guard frameLength >= minimumLength else { return nil }
    }

    public static func couldStart(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        let available = bytes.count - offset
        guard available >= 1, bytes[offset] == 0xFF else { return false }
        guard available >= 2 else { return true }
        guard bytes[offset + 1] & 0xF6 == 0xF0 else { return false }
        guard available >= 3 else { return true }
        return Int((bytes[offset + 2] >> 2) & 0x0F) < sampleRates.count
    }

    /// Same stream parameters: MPEG version, object type, sampling frequency and channel configuration. Frame
    /// lengths vary from frame to frame and are not compared.
    public func isCompatible(with other: ADTSFrameHeader) -> Bool {
        isMPEG2 == other.isMPEG2 && audioObjectType == other.audioObjectType
            && samplingFrequencyIndex == other.samplingFrequencyIndex
            && channelConfiguration == other.channelConfiguration
    }

    /// Channels the configuration names (0 when a program config element does).
    public var channelCount: Int {
        switch channelConfiguration {
        case 7: 8
        default: channelConfiguration
        }
    }

    /// A name for status pages: "AAC-LC", "AAC Main", …
    public var profileName: String {
        switch audioObjectType {
        case 1: "AAC Main"
        case 2: "AAC-LC"
        case 3: "AAC SSR"
        default: "AAC LTP"
        }
    }
}

/// One complete ADTS frame found by ``ADTSFrameSynchronizer``. Every ADTS frame carries audio.
public struct ADTSFrame: SynchronizableFrame {
    public var header: ADTSFrameHeader

    public init(header: ADTSFrameHeader, classifying bytes: UnsafeRawBufferPointer) {
        self.header = header
    }
}

/// Finds AAC frames in ADTS: ``FrameSynchronizer`` with ADTS headers.
public typealias ADTSFrameSynchronizer = FrameSynchronizer<ADTSFrame>
