import MPEGAudio
import NIOCore

/// MP3 frames in, MP3 frames of other settings out: libmpg123 decodes (resampling and down-mixing to the output's
/// format when it differs), LAME encodes.
///
/// A change of the input's format (another sample rate or channel count, when the output follows the input's) is a
/// clean restart: the encoder's last frames are flushed, then a new encoder starts, so no frame mixes two formats.
/// Not thread-safe; one owner at a time (a transcoded mount's worker).
package final class MP3Transcoder {
    package struct Settings: Sendable, Equatable {
        /// Output sample rate and channels; `nil`: the input's.
        package var sampleRate: Int?
        package var channels: Int?
        package var mode: MP3Encoder.Mode
        package var quality: Int

        package init(sampleRate: Int?, channels: Int?, mode: MP3Encoder.Mode, quality: Int) {
            self.sampleRate = sampleRate
            self.channels = channels
            self.mode = mode
            self.quality = quality
        }
    }

    package let settings: Settings
    private var decoder: MPEGDecoder?
    private var encoder: MP3Encoder?
    /// Restarts because the input's format changed.
    package private(set) var restarts = 0

    package init(settings: Settings) {
        self.settings = settings
    }

    /// Decodes one whole MP3 frame and encodes what it yields; returns the MP3 bytes ready (whole frames).
    /// A frame that is not MPEG audio yields nothing.
    package func transcode(_ frame: ByteBuffer) throws -> [UInt8] {
        guard let input = Self.format(ofFrame: frame) else { return [] }
        let rate = settings.sampleRate ?? input.sampleRate
        let channels = settings.channels ?? input.channels
        var out: [UInt8] = []
        if let encoder, encoder.sampleRate != rate || encoder.channels != channels {
            out += restart()
            restarts += 1
        }
        // Both are made before either is kept: a failure leaves neither, and the next frame tries again.
        if decoder == nil || encoder == nil {
            let newDecoder = try MPEGDecoder(sampleRate: rate, channels: channels)
            encoder = try MP3Encoder(sampleRate: rate, channels: channels, mode: settings.mode, quality: settings.quality)
            decoder = newDecoder
        }
        guard let decoder, let encoder else { return out }
        let pcm = decoder.decode(frame, sampleRate: input.sampleRate)
        return out + encoder.encode(pcm)
    }

    /// The sample rate and channel count of the MPEG audio frame at the front of `frame`.
    package static func format(ofFrame frame: ByteBuffer) -> (sampleRate: Int, channels: Int)? {
        guard let bytes = frame.getBytes(at: frame.readerIndex, length: min(4, frame.readableBytes)), bytes.count == 4,
            let header = MPEGFrameHeader(bytes[0], bytes[1], bytes[2], bytes[3])
        else { return nil }
        return (header.sampleRate, header.channelCount)
    }

    /// The input ends or jumps (another source): the encoder's last frames, then a fresh start with the next frame.
    package func restart() -> [UInt8] {
        let last = encoder?.flush() ?? []
        decoder = nil
        encoder = nil
        return last
    }
}
