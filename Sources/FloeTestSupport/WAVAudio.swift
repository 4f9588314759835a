import Foundation

/// 16-bit PCM read from a WAV file (or given raw), with the measurements the speaker tests make: duration,
/// dominant frequency, clicks, and how closely it matches a reference.
public struct WAVAudio: Sendable {
    public var sampleRate: Int
    public var channels: Int
    /// Channel-interleaved samples.
    public var samples: [Int16]

    public init(sampleRate: Int, channels: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    /// Raw little-endian s16 samples.
    public init(rawLittleEndian bytes: [UInt8], sampleRate: Int, channels: Int) {
        self.init(sampleRate: sampleRate, channels: channels, samples: Self.samples(bytes[...]))
    }

    /// Parses a RIFF/WAVE file holding 16-bit PCM. A data chunk whose size field is unset or too large (a writer
    /// stopped early) is read to the end of the file.
    public init(contentsOf path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw RawSocket.Failure(description: "\(path) is not a WAV file")
        }
        var offset = 12
        var rate = 0
        var channels = 0
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let size = u32(offset + 4)
            if id == "fmt " {
                guard u16(offset + 8) == 1 || u16(offset + 8) == 0xFFFE, u16(offset + 22) == 16 else {
                    throw RawSocket.Failure(description: "\(path) is not 16-bit PCM")
                }
                channels = u16(offset + 10)
                rate = u32(offset + 12)
            } else if id == "data" {
                let end = min(bytes.count, offset + 8 + size)
                self.init(sampleRate: rate, channels: channels, samples: Self.samples(bytes[(offset + 8)..<end]))
                return
            }
            offset += 8 + size + (size & 1)
        }
        throw RawSocket.Failure(description: "\(path) has no data chunk")
    }

    private static func samples(_ bytes: ArraySlice<UInt8>) -> [Int16] {
        var samples = [Int16](repeating: 0, count: bytes.count / 2)
        var index = bytes.startIndex
        for position in samples.indices {
            samples[position] = Int16(bitPattern: UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8)
            index += 2
        }
        return samples
    }

    /// Sample frames (one per sampling instant).
    public var frameCount: Int { samples.count / max(channels, 1) }

    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// The first channel.
    public var left: [Int16] { stride(from: 0, to: samples.count, by: channels).map { samples[$0] } }

    /// The tone's frequency, from upward zero crossings of the first channel over the middle half (a decoder's
    /// first frame is not yet the tone).
    public var dominantFrequency: Double {
        let whole = left
        let signal = Array(whole[(whole.count / 4)..<(whole.count * 3 / 4)])
        var crossings: [Int] = []
        for index in 1..<signal.count where signal[index - 1] < 0 && signal[index] >= 0 {
            crossings.append(index)
        }
        guard let first = crossings.first, let last = crossings.last, crossings.count > 1 else { return 0 }
        return Double(crossings.count - 1) * Double(sampleRate) / Double(last - first)
    }

    /// The largest jump between neighbouring samples of the first channel: a lost or repeated packet in a tone
    /// shows as a jump far larger than the tone's own slope.
    public var largestStep: Int {
        let signal = left
        var largest = 0
        for index in 1..<signal.count {
            largest = max(largest, abs(Int(signal[index]) - Int(signal[index - 1])))
        }
        return largest
    }

    /// Lengths (seconds) of runs of at least `minimum` seconds where the first channel stays within ±`threshold`.
    public func silentRuns(minimum: Double = 0.1, threshold: Int16 = 64) -> [(start: Double, length: Double)] {
        let signal = left
        var runs: [(Double, Double)] = []
        var start: Int?
        for index in 0...signal.count {
            let quiet = index < signal.count && abs(Int(signal[index])) <= Int(threshold)
            if quiet, start == nil { start = index }
            if !quiet, let begun = start {
                let length = Double(index - begun) / Double(sampleRate)
                if length >= minimum { runs.append((Double(begun) / Double(sampleRate), length)) }
                start = nil
            }
        }
        return runs
    }

    /// The best normalised correlation of this audio's first channel with `reference`'s, over lags up to
    /// `maximumLag` sample frames either way (receivers may start a little early or late).
    public func correlation(with reference: WAVAudio, maximumLag: Int = 4096) -> (value: Double, lag: Int) {
        let a = left.map(Double.init)
        let b = reference.left.map(Double.init)
        var best = (value: -1.0, lag: 0)
        for lag in stride(from: -maximumLag, through: maximumLag, by: 1) {
            var sum = 0.0, energyA = 0.0, energyB = 0.0
            var index = max(0, -lag)
            let end = min(a.count, b.count - lag)
            guard end - index > 1000 else { continue }
            // A coarse pass (every 8th sample) is plenty for a tone.
            while index < end {
                let x = a[index], y = b[index + lag]
                sum += x * y
                energyA += x * x
                energyB += y * y
                index += 8
            }
            let value = sum / max((energyA * energyB).squareRoot(), 1)
            if value > best.value { best = (value, lag) }
        }
        return best
    }
}
