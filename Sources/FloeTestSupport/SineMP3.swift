import CLame
import Foundation

/// MP3 test material made with LAME itself: a sine tone, constant bit rate, no Xing header and no ID3 tag,
/// so the bytes are nothing but MPEG audio frames.
public enum SineMP3 {
    /// Encodes `seconds` of a `frequency` Hz tone.
    public static func make(
        seconds: Double,
        frequency: Double = 440,
        bitrate: Int = 128,
        sampleRate: Int = 44_100,
        channels: Int = 2
    ) -> [UInt8] {
        guard let lame = lame_init() else { fatalError("lame_init failed") }
        defer { lame_close(lame) }
        lame_set_in_samplerate(lame, Int32(sampleRate))
        lame_set_out_samplerate(lame, Int32(sampleRate))
        lame_set_num_channels(lame, Int32(channels))
        lame_set_mode(lame, channels == 1 ? MONO : JOINT_STEREO)
        lame_set_brate(lame, Int32(bitrate))
        lame_set_bWriteVbrTag(lame, 0)
        lame_set_quality(lame, 7)
        guard lame_init_params(lame) >= 0 else { fatalError("lame_init_params failed") }

        let frames = Int(seconds * Double(sampleRate))
        var pcm = [Int16](repeating: 0, count: frames * channels)
        for index in 0..<frames {
            let sample = Int16(12_000 * sin(2 * Double.pi * frequency * Double(index) / Double(sampleRate)))
            for channel in 0..<channels { pcm[index * channels + channel] = sample }
        }
        var output = [UInt8](repeating: 0, count: frames * 5 / 4 + 7200 + 16384)
        var written = 0
        let chunk = 1152 * 16
        var offset = 0
        while offset < frames {
            let count = min(chunk, frames - offset)
            let result = pcm.withUnsafeMutableBufferPointer { samples in
                output.withUnsafeMutableBufferPointer { out in
                    if channels == 1 {
                        return lame_encode_buffer(
                            lame, samples.baseAddress! + offset, samples.baseAddress! + offset, Int32(count),
                            out.baseAddress! + written, Int32(out.count - written))
                    }
                    return lame_encode_buffer_interleaved(
                        lame, samples.baseAddress! + offset * channels, Int32(count),
                        out.baseAddress! + written, Int32(out.count - written))
                }
            }
            precondition(result >= 0, "lame_encode_buffer failed: \(result)")
            written += Int(result)
            offset += count
        }
        let tail = output.withUnsafeMutableBufferPointer { out in
            lame_encode_flush(lame, out.baseAddress! + written, Int32(out.count - written))
        }
        precondition(tail >= 0, "lame_encode_flush failed")
        written += Int(tail)
        return Array(output[..<written])
    }
}
