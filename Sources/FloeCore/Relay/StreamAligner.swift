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
///
/// The search is Knuth–Morris–Pratt, carried from one call to the next: each byte received is looked at once (and
/// the work is at most twice the bytes held), however the stream arrives. An upstream sending one byte at a time
/// (`icy-metaint: 1`) of near-matches once made every call search everything held again, and held an event loop
/// for minutes (found by a probe).
public struct StreamAligner: Sendable {
    private let tail: [UInt8]
    /// For each prefix of `tail`, the length of its longest proper prefix that is also its suffix.
    private let fallback: [Int]
    private let maximumBytes: Int
    private var held: [UInt8] = []
    /// How many of `tail`'s bytes the bytes held end with.
    private var matched = 0
    /// Steps the search took so far (for tests of its bound).
    package private(set) var searchSteps = 0

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
        var fallback = [Int](repeating: 0, count: tail.count)
        var length = 0
        for index in tail.indices.dropFirst() {
            while length > 0, tail[index] != tail[length] { length = fallback[length - 1] }
            if tail[index] == tail[length] { length += 1 }
            fallback[index] = length
        }
        self.fallback = fallback
    }

    public mutating func receive(_ bytes: ByteBuffer) -> Outcome {
        let start = held.count
        held += bytes.readableBytesView
        guard !tail.isEmpty else { return release() }
        for index in start..<held.count {
            let byte = held[index]
            while matched > 0, tail[matched] != byte {
                matched = fallback[matched - 1]
                searchSteps += 1
            }
            if tail[matched] == byte { matched += 1 }
            searchSteps += 1
            if matched == tail.count {
                let rest = ByteBuffer(bytes: held[(index + 1)...])
                defer { reset() }
                return .aligned(rest, skipped: index + 1)
            }
        }
        return held.count >= maximumBytes ? release() : .holding
    }

    /// Gives up now: everything held, to be passed on.
    public mutating func release() -> Outcome {
        defer { reset() }
        return .gaveUp(ByteBuffer(bytes: held))
    }

    private mutating func reset() {
        held = []
        matched = 0
    }
}
