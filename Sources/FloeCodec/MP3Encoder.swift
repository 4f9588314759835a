import CLame

/// Encodes 16-bit PCM to MP3 with LAME, at one fixed format (sample rate, channels) and bitrate mode.
///
/// No Xing/Info tag is written (a live stream has no length to tell), and nothing is resampled here: the decoder in
/// front already delivers the output's sample rate and channel count. Not thread-safe; one owner at a time.
package final class MP3Encoder {
    package enum Mode: Sendable, Equatable {
        case cbr(kbps: Int)
        /// LAME's `-V` level, 0 (best) to 9.
        case vbr(level: Int)
        case abr(kbps: Int)
    }

    package let sampleRate: Int
    package let channels: Int
    private let handle: OpaquePointer
    private var output: [UInt8]

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// - Parameter quality: LAME's algorithm quality, 0 (best, slowest) to 9.
    package init(sampleRate: Int, channels: Int, mode: Mode, quality: Int) throws {
        guard let handle = lame_init() else { throw Failure(description: "LAME cannot start") }
        self.handle = handle
        self.sampleRate = sampleRate
        self.channels = channels
        lame_set_in_samplerate(handle, Int32(sampleRate))
        lame_set_out_samplerate(handle, Int32(sampleRate))
        lame_set_num_channels(handle, Int32(channels))
        lame_set_mode(handle, channels == 1 ? MONO : JOINT_STEREO)
        lame_set_quality(handle, Int32(quality))
        lame_set_bWriteVbrTag(handle, 0)
        switch mode {
        case .cbr(let kbps):
            lame_set_VBR(handle, vbr_off)
            lame_set_brate(handle, Int32(kbps))
        case .vbr(let level):
            lame_set_VBR(handle, vbr_default)
            lame_set_VBR_q(handle, Int32(level))
        case .abr(let kbps):
            lame_set_VBR(handle, vbr_abr)
            lame_set_VBR_mean_bitrate_kbps(handle, Int32(kbps))
        }
        guard lame_init_params(handle) >= 0 else {
            lame_close(handle)
            throw Failure(description: "LAME refuses \(sampleRate) Hz, \(channels) channels, \(mode)")
        }
        output = [UInt8](repeating: 0, count: 16 * 1024)
    }

    deinit {
        lame_close(handle)
    }

    /// Encodes channel-interleaved samples; returns the MP3 bytes LAME has ready (whole frames, often none yet).
    package func encode(_ pcm: [Int16]) -> [UInt8] {
        let frames = pcm.count / channels
        guard frames > 0 else { return [] }
        let needed = frames * 5 / 4 + 7200
        if output.count < needed { output = [UInt8](repeating: 0, count: needed) }
        let written = pcm.withUnsafeBufferPointer { samples in
            output.withUnsafeMutableBufferPointer { buffer in
                let pointer = UnsafeMutablePointer(mutating: samples.baseAddress!)
                return channels == 1
                    ? lame_encode_buffer(handle, pointer, pointer, Int32(frames), buffer.baseAddress, Int32(buffer.count))
                    : lame_encode_buffer_interleaved(handle, pointer, Int32(frames), buffer.baseAddress, Int32(buffer.count))
            }
        }
        return written > 0 ? Array(output[0..<Int(written)]) : []
    }

    /// The frames LAME still holds (the end of the stream).
    package func flush() -> [UInt8] {
        if output.count < 7200 { output = [UInt8](repeating: 0, count: 7200) }
        let written = output.withUnsafeMutableBufferPointer { buffer in
            lame_encode_flush(handle, buffer.baseAddress, Int32(buffer.count))
        }
        return written > 0 ? Array(output[0..<Int(written)]) : []
    }
}
