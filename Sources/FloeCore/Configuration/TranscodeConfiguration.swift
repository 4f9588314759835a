/// A mount produced from another mount of the same server: its MP3 frames decoded with libmpg123 (resampled and
/// down-mixed if asked) and encoded again with LAME. YAML: `transcode: { from: /live, bitrate: 64, samplerate:
/// 22050, channels: 1 }` in the derived mount's file; icecast.xml: `<floe-transcode from="/live" bitrate="64"/>`
/// inside its `<mount>`. Every option is read as text by ``init(options:)``, the same for both.
public struct TranscodeConfiguration: Sendable, Equatable {
    /// How LAME spends bits.
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Constant bitrate: every frame at `bitrate`.
        case cbr
        /// Variable bitrate at quality `quality` (LAME's `-V`): `bitrate` is not used.
        case vbr
        /// Average bitrate: variable, averaging `bitrate`.
        case abr
    }

    /// The origin mount.
    public var from: String
    /// kbit/s (CBR, ABR).
    public var bitrate: Int
    /// Output sample rate; `nil`: the origin's.
    public var sampleRate: Int?
    /// Output channels (1 or 2); `nil`: the origin's.
    public var channels: Int?
    public var mode: Mode
    /// 0 (best, slowest) to 9: LAME's algorithm quality for CBR/ABR, its `-V` level for VBR.
    public var quality: Int
    /// Encode only while the mount has listeners (its mount stays listed, so that a listener can start it).
    public var onDemand: Bool
    /// Test hook: a pause after encoding each block, to show that a slow encoder holds up no one else. Not read
    /// from any configuration file.
    public var testDelay: Duration?

    public init(
        from: String,
        bitrate: Int = 64,
        sampleRate: Int? = nil,
        channels: Int? = nil,
        mode: Mode = .cbr,
        quality: Int = 5,
        onDemand: Bool = false
    ) {
        self.from = from
        self.bitrate = bitrate
        self.sampleRate = sampleRate
        self.channels = channels
        self.mode = mode
        self.quality = quality
        self.onDemand = onDemand
    }

    /// A problem with one option, for the loader to report with its file and line.
    public struct OptionError: Error, Equatable {
        public var option: String
        public var message: String
    }

    public static let optionNames = ["from", "bitrate", "samplerate", "channels", "mode", "quality", "on-demand"]
    /// The sample rates MP3 has (MPEG-1, 2 and 2.5).
    public static let sampleRates = [8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000]

    /// Reads the settings from options given as text (YAML values or XML attributes).
    public init(options: [(key: String, value: String)]) throws(OptionError) {
        var values: [String: String] = [:]
        for (key, value) in options {
            guard Self.optionNames.contains(key) else {
                throw OptionError(option: key, message: "unknown transcode option; known: \(Self.optionNames.joined(separator: ", "))")
            }
            values[key] = String(value.trimmingSpaces())
        }
        guard let from = values["from"], !from.isEmpty else {
            throw OptionError(option: "from", message: "a transcoded mount needs the mount it is made from (from: /live)")
        }
        guard from.hasPrefix("/") else { throw OptionError(option: "from", message: "expected a mount path such as /live, got \"\(from)\"") }
        func integer(_ key: String, _ allowed: (Int) -> Bool, _ expected: String) throws(OptionError) -> Int? {
            guard let text = values[key] else { return nil }
            guard let value = Int(text), allowed(value) else {
                throw OptionError(option: key, message: "expected \(expected), got \"\(text)\"")
            }
            return value
        }
        self.init(from: from)
        bitrate = try integer("bitrate", { (8...320).contains($0) }, "kbit/s from 8 to 320") ?? 64
        sampleRate = try integer("samplerate", { Self.sampleRates.contains($0) }, "an MP3 sample rate (\(Self.sampleRates.map(String.init).joined(separator: ", ")))")
        channels = try integer("channels", { $0 == 1 || $0 == 2 }, "1 or 2")
        quality = try integer("quality", { (0...9).contains($0) }, "0 (best) to 9") ?? 5
        if let text = values["mode"] {
            guard let mode = Mode(rawValue: text.lowercased()) else {
                throw OptionError(option: "mode", message: "expected cbr, vbr or abr, got \"\(text)\"")
            }
            self.mode = mode
        }
        if let text = values["on-demand"] {
            switch text.lowercased() {
            case "1", "true", "yes", "on": onDemand = true
            case "0", "false", "no", "off": onDemand = false
            default: throw OptionError(option: "on-demand", message: "expected true or false, got \"\(text)\"")
            }
        }
    }

    /// The `ice-audio-info` a listener of the derived mount is told, as a source would send it.
    public func audioInfo(originSampleRate: Int, originChannels: Int) -> String {
        var info = "samplerate=\(sampleRate ?? originSampleRate);channels=\(channels ?? originChannels)"
        if mode != .vbr { info = "bitrate=\(bitrate);" + info }
        return info
    }
}
