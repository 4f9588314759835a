import CMPG123
import NIOCore

/// Decodes MP3 frames, one at a time, to 16-bit PCM in one fixed format, with libmpg123.
///
/// The format never changes: a source at another sample rate is resampled by libmpg123 and a mono source is
/// duplicated to stereo (or stereo mixed to mono), so a sound device or an RTP session set up for one format keeps
/// it across source changes. Gapless trimming is off: every frame decodes to its full length, which is what the
/// speaker's clock counts.
///
/// Not thread-safe; one owner at a time.
package final class MPEGDecoder {
    package let sampleRate: Int
    package let channels: Int
    private let handle: OpaquePointer
    private var output: [Int16]
    /// The rate libmpg123 is told to resample to (`MPG123_FORCE_RATE`), or 0 while sources play at `sampleRate`
    /// natively: resampling is only switched on when needed, so native-rate audio decodes sample-exact.
    private var forcedRate = 0

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package init(sampleRate: Int, channels: Int) throws {
        self.sampleRate = sampleRate
        self.channels = channels
        var error: Int32 = 0
        guard let handle = mpg123_new(nil, &error) else {
            throw Failure(description: "libmpg123 cannot start: \(String(cString: mpg123_plain_strerror(error)))")
        }
        self.handle = handle
        // Room for the largest decoded frame (1152 samples), resampled up to 192 kHz from 8 kHz.
        output = [Int16](repeating: 0, count: 1152 * 24 * channels)
        let flags = Int(MPG123_QUIET.rawValue) | Int(channels == 1 ? MPG123_MONO_MIX.rawValue : MPG123_FORCE_STEREO.rawValue)
        var status = floe_mpg123_param(handle, MPG123_FLAGS, flags, 0)
        if status == MPG123_OK.rawValue { status = mpg123_format_none(handle) }
        if status == MPG123_OK.rawValue {
            status = mpg123_format(
                handle,
                sampleRate,
                Int32(channels == 1 ? MPG123_MONO.rawValue : MPG123_STEREO.rawValue),
                Int32(MPG123_ENC_SIGNED_16.rawValue)
            )
        }
        if status == MPG123_OK.rawValue { status = mpg123_open_feed(handle) }
        guard status == MPG123_OK.rawValue else {
            let message = String(cString: mpg123_strerror(handle))
            mpg123_delete(handle)
            throw Failure(description: "libmpg123 cannot decode to \(sampleRate) Hz, \(channels) channels: \(message)")
        }
    }

    deinit {
        mpg123_delete(handle)
    }

    /// Forgets the stream so far (its bit reservoir, a frame waiting for the next header): the source ended, and
    /// whatever comes next is a new stream.
    package func reset() {
        mpg123_close(handle)
        _ = mpg123_open_feed(handle)
    }

    /// Decodes one frame (at `frameRate`, from its header); the PCM (channel-interleaved, native byte order) of every frame now complete.
    ///
    /// libmpg123 confirms a stream's first frame with the next frame's header, so the first frame comes out with
    /// the second; from then on each frame comes out as it goes in. Bytes it cannot decode produce no samples (and a log line at most), never a failure.
    package func decode(_ frame: ByteBuffer, sampleRate frameRate: Int) -> [Int16] {
        let wanted = frameRate == sampleRate ? 0 : sampleRate
        if wanted != forcedRate {
            forcedRate = wanted
            _ = floe_mpg123_param(handle, MPG123_FORCE_RATE, wanted, 0)
        }
        let fed = frame.withUnsafeReadableBytes { bytes in
            mpg123_feed(handle, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        guard fed == MPG123_OK.rawValue else { return [] }
        var pcm: [Int16] = []
        while true {
            var done = 0
            let status = output.withUnsafeMutableBytes { buffer in
                mpg123_read(handle, buffer.baseAddress, buffer.count, &done)
            }
            if done > 0 {
                pcm.append(contentsOf: output[0..<(done / 2)])
            }
            if status == MPG123_NEW_FORMAT.rawValue || (status == MPG123_OK.rawValue && done > 0) { continue }
            return pcm
        }
    }
}
