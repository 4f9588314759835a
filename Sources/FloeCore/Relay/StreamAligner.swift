import NIOCore

/// Where a relay's next stream takes up from the last one, so listeners who waited through a reconnection or a
/// switch of upstreams do not hear again what they already heard.
///
/// An upstream starts every connection with a burst of the recent past (Icecast and Floe send 64 KiB, about four
/// seconds at 128 kbps). After a short break, or on a switch to an upstream carrying the same stream, that burst
/// repeats audio the relay has already published. The aligner holds the new stream's first bytes and looks in them
/// for the last bytes published (`tail`, ending on a frame boundary); found, everything up to and including them
/// is dropped and the stream goes on from the very next frame. Not found within `maximumBytes` (or when the
/// caller stops waiting, `release()`), everything held is passed on as it is: a different stream, or a break
/// longer than the burst, has nothing to skip.
public struct StreamAligner: Sendable {
    private let tail: [UInt8]
    private let maximumBytes: Int
    private var held: [UInt8] = []

    /// Bytes a relay holds at most while looking for the tail.
    public static let defaultMaximumBytes = 96 * 1024

    /// What became of the bytes received so far.
    public enum Outcome: Equatable, Sendable {
        /// Still looking; nothing to pass on yet.
        case holding
        /// The tail was found: pass on these bytes (those after it), and stop aligning. `skipped` counts the bytes
        /// dropped, the tail's included.
        case aligned(ByteBuffer, skipped: Int)
        /// Not found: pass on everything held, and stop aligning.
        case gaveUp(ByteBuffer)
    }

    /// `tail`: the last bytes published, empty when nothing was (then every call gives up at once).
    public init(tail: [UInt8], maximumBytes: Int = StreamAligner.defaultMaximumBytes) {
        self.tail = tail
        self.maximumBytes = maximumBytes
    }

    public mutating func receive(_ bytes: ByteBuffer) -> Outcome {
        held += bytes.readableBytesView
        guard !tail.isEmpty else { return release() }
        if let range = held.firstRange(of: tail) {
            let rest = ByteBuffer(bytes: held[range.upperBound...])
            defer { held = [] }
            return .aligned(rest, skipped: range.upperBound)
        }
        return held.count >= maximumBytes ? release() : .holding
    }

    /// Gives up now: everything held, to be passed on.
    public mutating func release() -> Outcome {
        defer { held = [] }
        return .gaveUp(ByteBuffer(bytes: held))
    }
}
