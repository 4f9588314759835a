/// One speaker output of a mount: the mount's MP3 frames, released by the speaker's clock, sent as RTP or played
/// on a sound device (or into a WAV file).
///
/// Both configuration formats describe an output as flat `option: value` pairs (a YAML mapping under a mount's
/// `outputs`, or the attributes of `<floe-output>` inside an icecast.xml `<mount>`); ``init(options:)`` reads
/// them, so both formats accept exactly the same options with the same defaults.
public struct SpeakerOutputConfiguration: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case rtp(RTPOutput)
        case playback(PlaybackOutput)
        case fec(FECOutput)
    }

    /// What the output does while the source is late, stalled or gone.
    public enum GapMode: String, Sendable, Equatable, CaseIterable {
        /// Nothing is sent or played; the clock runs on, so RTP timestamps jump by the gap and the next packet
        /// carries the marker bit.
        case pause
        /// Silence is sent (L16) or played, on the clock, until audio resumes. Not for MPA and FEC outputs, which
        /// carry MP3 frames as they are.
        case silence
    }

    /// Names the output in status, metrics and its SDP URL (`/live.sdp?output=NAME`); `rtp1`, `playback1`, … by
    /// default.
    public var name: String
    public var kind: Kind
    /// How long a frame waits after arriving before it may play: absorbs the source's jitter. Seconds.
    public var jitterBuffer: Double
    /// Audio beyond this much (seconds, after the jitter buffer) is dropped, oldest first, so a source that sends
    /// faster than real time is never played faster.
    public var maximumBuffer: Double
    public var gaps: GapMode

    public init(
        name: String,
        kind: Kind,
        jitterBuffer: Double = 0.2,
        maximumBuffer: Double = 5,
        gaps: GapMode? = nil
    ) {
        self.name = name
        self.kind = kind
        self.jitterBuffer = jitterBuffer
        self.maximumBuffer = maximumBuffer
        if let gaps {
            self.gaps = gaps
        } else if case .playback = kind {
            self.gaps = .silence
        } else {
            self.gaps = .pause
        }
    }

    /// `rtp`, `playback` or `fec`, as configuration writes it.
    public var typeName: String {
        switch kind {
        case .rtp: "rtp"
        case .playback: "playback"
        case .fec: "fec"
        }
    }

    /// Whether this is an RTP output (it has an SDP).
    public var rtp: RTPOutput? {
        if case .rtp(let output) = kind { return output }
        return nil
    }
}

/// Where and how an RTP output sends (RFC 3550/3551).
public struct RTPOutput: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// The MP3 frames as they are: payload type 14, RFC 2250, 90 kHz timestamps.
        case mpa
        /// Decoded PCM, 16-bit big-endian: payload type 10 (44.1 kHz stereo), 11 (44.1 kHz mono), else dynamic.
        case l16
    }

    public var mode: Mode
    /// Destination address: unicast, or a multicast group (224.0.0.0/4).
    public var address: String
    public var port: Int
    /// Multicast time to live (hops).
    public var ttl: Int
    /// Local address of the interface multicast leaves by (`IP_MULTICAST_IF`); `nil` lets the routing table decide.
    public var interface: String?
    /// Path MTU: packets (IP and UDP headers included) stay within it.
    public var mtu: Int
    /// Payload type for L16 formats without a static one (96–127).
    public var dynamicPayloadType: Int
    /// L16 sample rate and channels; the decoder resamples and mixes to them, so a source change never changes
    /// the format a receiver was told in the SDP.
    public var sampleRate: Int
    public var channels: Int

    public init(
        mode: Mode,
        address: String,
        port: Int,
        ttl: Int = 1,
        interface: String? = nil,
        mtu: Int = 1500,
        dynamicPayloadType: Int = 96,
        sampleRate: Int = 44100,
        channels: Int = 2
    ) {
        self.mode = mode
        self.address = address
        self.port = port
        self.ttl = ttl
        self.interface = interface
        self.mtu = mtu
        self.dynamicPayloadType = dynamicPayloadType
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// Largest UDP payload (RTP header included): the MTU less 20 bytes of IPv4 header and 8 of UDP.
    public var maximumPacketBytes: Int { mtu - 28 }

    /// Whether `address` is an IPv4 multicast group.
    public var isMulticast: Bool { isMulticastGroup(address) }
}

/// Where and how an FEC output sends: the mount's MP3 frames in groups, each cut into k slices plus n − k parity
/// slices (Reed–Solomon, bit-identical to zfec), in Floe's FEC packets over UDP, spread over the group's play time.
public struct FECOutput: Sendable, Equatable {
    /// Destination address: unicast, or a multicast group.
    public var address: String
    public var port: Int
    public var ttl: Int
    /// Local address of the interface multicast leaves by; `nil` lets the routing table decide.
    public var interface: String?
    /// k: data slices per group (any k of the n slices rebuild the group).
    public var dataSlices: Int
    /// n: slices sent per group; up to n − k may be lost.
    public var totalSlices: Int
    /// Largest slice: a packet is 32 header bytes plus the slice, inside one UDP datagram.
    public var maximumSliceBytes: Int

    /// The defaults, `8:12:1400`: a 1,400-byte slice makes a 1,460-byte IPv4 packet, inside a 1,500-byte MTU with
    /// room to spare for tunnels; k = 8 gives groups of up to 11,200 bytes (about 0.7 s at 128 kbit/s, so the
    /// receiver is about two groups behind); n = 12 survives the loss of any 4 slices in 12 (33 %) for 50 % more
    /// bandwidth.
    public static let defaultCode = (dataSlices: 8, totalSlices: 12, maximumSliceBytes: 1400)

    public init(
        address: String,
        port: Int,
        ttl: Int = 1,
        interface: String? = nil,
        dataSlices: Int = FECOutput.defaultCode.dataSlices,
        totalSlices: Int = FECOutput.defaultCode.totalSlices,
        maximumSliceBytes: Int = FECOutput.defaultCode.maximumSliceBytes
    ) {
        self.address = address
        self.port = port
        self.ttl = ttl
        self.interface = interface
        self.dataSlices = dataSlices
        self.totalSlices = totalSlices
        self.maximumSliceBytes = maximumSliceBytes
    }

    /// `k:n:max-slice-bytes`, as written in configuration.
    public var code: String { "\(dataSlices):\(totalSlices):\(maximumSliceBytes)" }

    public var isMulticast: Bool { isMulticastGroup(address) }
}

/// Local playback through libout123.
public struct PlaybackOutput: Sendable, Equatable {
    /// out123 driver: `alsa`, `pulse`, `oss`, … or the file outputs `wav`, `raw`, `au`; `nil` is out123's default.
    public var driver: String?
    /// Device name for the driver, or the file for `wav`/`raw`/`au`; `nil` is the driver's default.
    public var device: String?
    /// The format the device is opened with; sources at other rates or channel counts are resampled and mixed.
    public var sampleRate: Int
    public var channels: Int

    public init(driver: String? = nil, device: String? = nil, sampleRate: Int = 44100, channels: Int = 2) {
        self.driver = driver
        self.device = device
        self.sampleRate = sampleRate
        self.channels = channels
    }
}

extension SpeakerOutputConfiguration {
    /// A problem with one option of an output, for the loader to report with its file and line.
    public struct OptionError: Error, Equatable {
        /// The option at fault (empty when the output as a whole is wrong).
        public var option: String
        public var message: String
    }

    /// The options an output accepts, for "did you mean" hints and documentation.
    public static let optionNames = [
        "type", "name", "mode", "address", "port", "ttl", "interface", "mtu", "payload-type", "rate", "channels",
        "driver", "device", "jitter-buffer", "maximum-buffer", "gaps", "fec",
    ]

    /// Reads an output from its options, all given as text.
    ///
    /// - Parameter defaultName: the name used when the options have none (`rtp1`, `playback2`).
    public init(options: [(key: String, value: String)], defaultName: (String) -> String) throws(OptionError) {
        var values: [String: String] = [:]
        for (key, value) in options {
            guard Self.optionNames.contains(key) else {
                throw OptionError(option: key, message: "unknown output option; known: \(Self.optionNames.joined(separator: ", "))")
            }
            values[key] = value
        }
        func integer(_ key: String, _ range: ClosedRange<Int>, default fallback: Int) throws(OptionError) -> Int {
            guard let text = values[key] else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw OptionError(option: key, message: "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
            }
            return value
        }
        func seconds(_ key: String, _ range: ClosedRange<Double>, default fallback: Double) throws(OptionError) -> Double {
            guard let text = values[key] else { return fallback }
            guard let value = Double(text), range.contains(value) else {
                throw OptionError(option: key, message: "expected seconds from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
            }
            return value
        }
        func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _: Choice.Type) throws(OptionError) -> Choice?
        where Choice.RawValue == String {
            guard let text = values[key] else { return nil }
            guard let value = Choice(rawValue: text) else {
                let known = Choice.allCases.map(\.rawValue).joined(separator: " or ")
                throw OptionError(option: key, message: "expected \(known), got \"\(text)\"")
            }
            return value
        }
        func refuse(_ keys: [String], for type: String) throws(OptionError) {
            if let key = keys.first(where: { values[$0] != nil }) {
                throw OptionError(option: key, message: "not an option of \(type) outputs")
            }
        }

        func destination() throws(OptionError) -> (address: String, interface: String?) {
            guard let address = values["address"], Self.isIPv4(address) else {
                throw OptionError(option: "address", message: "an \(values["type"]!) output needs an IPv4 address to send to (unicast or a multicast group), got \(values["address"].map { "\"\($0)\"" } ?? "none")")
            }
            if let interface = values["interface"], !Self.isIPv4(interface) {
                throw OptionError(option: "interface", message: "expected the IPv4 address of a local interface, got \"\(interface)\"")
            }
            guard values["port"] != nil else {
                throw OptionError(option: "port", message: "an \(values["type"]!) output needs a port")
            }
            return (address, values["interface"])
        }

        let kind: Kind
        switch values["type"] {
        case "fec":
            try refuse(["driver", "device", "mode", "rate", "channels", "payload-type", "mtu", "gaps"], for: "fec")
            let (address, interface) = try destination()
            var code = FECOutput.defaultCode
            if let text = values["fec"] {
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count == 3, let k = parts[0], let n = parts[1], let slice = parts[2],
                    1 <= k, k < n, n <= 255, (1...65_000).contains(slice)
                else {
                    throw OptionError(option: "fec", message: "expected k:n:max-slice-bytes with 1 ≤ k < n ≤ 255 and a slice of 1 to 65000 bytes (such as 8:12:1400), got \"\(text)\"")
                }
                code = (k, n, slice)
            }
            kind = .fec(
                FECOutput(
                    address: address,
                    port: try integer("port", 1...65535, default: 0),
                    ttl: try integer("ttl", 0...255, default: 1),
                    interface: interface,
                    dataSlices: code.dataSlices,
                    totalSlices: code.totalSlices,
                    maximumSliceBytes: code.maximumSliceBytes
                )
            )
        case "rtp":
            try refuse(["driver", "device", "fec"], for: "rtp")
            guard let mode = try choice("mode", RTPOutput.Mode.self) else {
                throw OptionError(option: "mode", message: "an rtp output needs a mode: mpa or l16")
            }
            let (address, interface) = try destination()
            if mode == .mpa {
                try refuse(["rate", "channels", "payload-type"], for: "mpa")
                if values["gaps"] == "silence" {
                    // Silence in MPA would mean encoding MP3; a timestamp that jumps without a marker would
                    // break RFC 3551's talkspurt rule. MPA outputs pause.
                    throw OptionError(option: "gaps", message: "mpa outputs send MP3 frames as they are and cannot send silence; use pause (or mode l16)")
                }
            }
            kind = .rtp(
                RTPOutput(
                    mode: mode,
                    address: address,
                    port: try integer("port", 1...65535, default: 0),
                    ttl: try integer("ttl", 0...255, default: 1),
                    interface: interface,
                    mtu: try integer("mtu", 576...65535, default: 1500),
                    dynamicPayloadType: try integer("payload-type", 96...127, default: 96),
                    sampleRate: try integer("rate", 8000...192_000, default: 44100),
                    channels: try integer("channels", 1...2, default: 2)
                )
            )
        case "playback":
            try refuse(["mode", "address", "port", "ttl", "interface", "mtu", "payload-type", "fec"], for: "playback")
            kind = .playback(
                PlaybackOutput(
                    driver: values["driver"],
                    device: values["device"],
                    sampleRate: try integer("rate", 8000...192_000, default: 44100),
                    channels: try integer("channels", 1...2, default: 2)
                )
            )
        case let other:
            throw OptionError(option: "type", message: "expected rtp, playback or fec, got \(other.map { "\"\($0)\"" } ?? "none")")
        }
        let typeName = values["type"]!
        let name = values["name"] ?? defaultName(typeName)
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw OptionError(option: "name", message: "use letters, digits, - and _ only (it appears in URLs), got \"\(name)\"")
        }
        self.init(
            name: name,
            kind: kind,
            jitterBuffer: try seconds("jitter-buffer", 0...10, default: 0.2),
            maximumBuffer: try seconds("maximum-buffer", 0.5...600, default: 5),
            gaps: try choice("gaps", GapMode.self)
        )
    }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && UInt8(part) != nil
        }
    }

    /// Names each output of a mount that has none: `rtp1`, `rtp2`, `playback1`, `fec1`, in order of appearance.
    public static func defaultNamer() -> (String) -> String {
        var counts: [String: Int] = [:]
        return { type in
            counts[type, default: 0] += 1
            return "\(type)\(counts[type]!)"
        }
    }
}

/// Whether `address` (dotted IPv4) is in 224.0.0.0/4.
private func isMulticastGroup(_ address: String) -> Bool {
    guard let first = address.split(separator: ".").first.flatMap({ Int($0) }) else { return false }
    return (224...239).contains(first)
}
