/// The frame synchroniser of one framed format, behind one answer shape: what an ingest needs to clock and relay
/// whole frames, whatever the format.
///
/// Each case's synchroniser is specialised here, inside its module, so callers elsewhere pay no generic dispatch
/// on the per-frame path.
public enum AudioFramer: Sendable {
    /// MPEG audio (layers I–III).
    case mpeg(MPEGFrameSynchronizer)
    /// AAC in ADTS.
    case adts(ADTSFrameSynchronizer)

    /// A whole frame at the front of the bytes.
    public struct Frame: Sendable, Hashable {
        /// Bytes of the whole frame.
        public var length: Int
        /// Samples per channel it plays; 0 for a frame without audio (a Xing/Info/VBRI tag frame).
        public var samples: Int
        /// Samples per second of those samples.
        public var sampleRate: Int
    }

    /// What the front of the bytes holds; see ``FrameSynchronizer/Step``.
    public enum Step: Sendable, Hashable {
        case frame(Frame)
        case skip(count: Int)
        case needMoreData
    }

    /// One synchroniser step over the front of `bytes`; the caller drops exactly the bytes it names.
    public mutating func step(_ bytes: UnsafeRawBufferPointer, isEndOfStream: Bool) -> Step {
        switch self {
        case .mpeg(var synchronizer):
            let step = synchronizer.step(bytes, isEndOfStream: isEndOfStream)
            self = .mpeg(synchronizer)
            switch step {
            case .frame(let frame):
                let samples = frame.kind == .audio ? frame.header.samplesPerFrame : 0
                return .frame(Frame(length: frame.length, samples: samples, sampleRate: frame.header.sampleRate))
            case .skip(let count, _): return .skip(count: count)
            case .needMoreData: return .needMoreData
            }
        case .adts(var synchronizer):
            let step = synchronizer.step(bytes, isEndOfStream: isEndOfStream)
            self = .adts(synchronizer)
            switch step {
            case .frame(let frame):
                return .frame(Frame(length: frame.length, samples: frame.header.samplesPerFrame, sampleRate: frame.header.sampleRate))
            case .skip(let count, _): return .skip(count: count)
            case .needMoreData: return .needMoreData
            }
        }
    }

    /// A name for status pages of the codec whose frame starts `bytes`: "MPEG-1 Layer III", "AAC-LC", …; `nil`
    /// when the bytes start no frame header.
    public static func codecName(ofFrameAt bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.count >= ADTSFrameHeader.byteCount, let header = ADTSFrameHeader(bytes, at: 0) {
            return header.profileName
        }
        guard bytes.count >= MPEGFrameHeader.byteCount, let header = MPEGFrameHeader(bytes, at: 0) else { return nil }
        let version = header.version == .mpeg1 ? "MPEG-1" : header.version == .mpeg2 ? "MPEG-2" : "MPEG-2.5"
        let layer = header.layer == .layer1 ? "I" : header.layer == .layer2 ? "II" : "III"
        return "\(version) Layer \(layer)"
    }

    /// The synchroniser's running counts.
    public var statistics: FramingStatistics {
        switch self {
        case .mpeg(let synchronizer): synchronizer.statistics
        case .adts(let synchronizer): synchronizer.statistics
        }
    }

    /// The bytes that follow belong to another stream; see ``FrameSynchronizer/startNewStream()``.
    public mutating func startNewStream() {
        switch self {
        case .mpeg(var synchronizer):
            synchronizer.startNewStream()
            self = .mpeg(synchronizer)
        case .adts(var synchronizer):
            synchronizer.startNewStream()
            self = .adts(synchronizer)
        }
    }
}
