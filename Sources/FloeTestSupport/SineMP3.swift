import FloeCodec
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
        let frames = Int(seconds * Double(sampleRate))
        var pcm = [Int16](repeating: 0, count: frames * channels)
        for index in 0..<frames {
            let sample = Int16(12_000 * sin(2 * Double.pi * frequency * Double(index) / Double(sampleRate)))
            for channel in 0..<channels { pcm[index * channels + channel] = sample }
        }
        // LAME through the server's own encoder: CBR, quality 7, no Xing tag, in chunks of 16 frames.
        let encoder = try! MP3Encoder(sampleRate: sampleRate, channels: channels, mode: .cbr(kbps: bitrate), quality: 7)
        var output: [UInt8] = []
        let chunk = 1152 * 16
        var offset = 0
        while offset < frames {
            let count = min(chunk, frames - offset)
            output += encoder.encode(Array(pcm[(offset * channels)..<((offset + count) * channels)]))
            offset += count
        }
        return output + encoder.flush()
    }
}
