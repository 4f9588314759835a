/// Incremental audio frame synchroniser: finds whole frames at the front of a byte stream that may start
/// anywhere, carry ID3v2 tags, garbage, or a truncated last frame.
///
/// One algorithm for every format whose frames start with a sync word and state their own length: MPEG audio
/// (``MPEGFrameSynchronizer``) and AAC in ADTS (``ADTSFrameSynchronizer``). The format supplies the header
/// parser through ``SynchronizableFrame``.
///
/// It works on the *front* of the caller's pending bytes and never holds bytes itself. Each ``step(_:isEndOfStream:)``
/// answers one of:
///
/// - ``Step/frame(_:)``: the first `frame.length` bytes are this whole frame;
/// - ``Step/skip(count:reason:)``: drop the first `count` bytes (`1 <= count <= bytes.count`);
/// - ``Step/needMoreData``: nothing can be decided until more bytes arrive.
///
/// The caller removes the bytes the step names and calls again until ``Step/needMoreData``. A partial frame is
/// never reported. This is the shape of swift-nio's `WebSocketFrameDecoder` parse step, so a NIO
/// `ByteToMessageDecoder` around it is a few lines:
///
/// ```swift
/// let step = buffer.withUnsafeReadableBytes { synchronizer.step($0) }
/// switch step {
/// case .frame(let frame):
///     context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: frame.length)!))
///     return .continue
/// case .skip(let count, _):
///     buffer.moveReaderIndex(forwardBy: count)
///     return .continue
/// case .needMoreData:
///     return .needMoreData
/// }
/// ```
///
/// ## Sync rules
///
/// ```
///              valid header + compatible header at frameLength        compatible header:
///   +-----------+ --------------------------------------> +--------------+ --+  .frame as soon
///   | searching |                                         | synchronized |   |  as it is whole
///   +-----------+ <-------------------------------------- +--------------+ <-+
///     |      ^       invalid or incompatible header
///     | ID3  |       (statistics.resyncs += 1)
///     v      | tag's last byte skipped
///   +--------------+
///   | skipping tag |  .skip(count, .id3v2Tag) on each call until the whole tag is gone
///   +--------------+
/// ```
///
/// - While searching, a candidate header is accepted only when the header at `frameLength` is valid and
///   compatible (``FrameHeader/isCompatible(with:)``: for MPEG the same version, layer, sample rate and channel
///   count): a lone sync word in garbage is not enough.
///   The look-ahead costs one frame of latency, once.
/// - While synchronized, a compatible header is accepted as soon as its whole frame is present, with no
///   look-ahead, so a live stream is passed on frame by frame without delay.
/// - Garbage is dropped in one ``Step/skip(count:reason:)`` up to the next byte that could start a header or an
///   ID3v2 tag, never one byte per call. A rejected candidate is dropped the same way, with at least its first
///   byte.
/// - ID3v2 tags are recognised wherever the synchroniser is searching, including mid-stream between two
///   concatenated files; while synchronized, a tag first loses sync (it is not a frame header).
///
/// ## Bounded buffering
///
/// No valid header describes a frame longer than ``FrameHeader/maximumFrameLength``, and ID3v2 tags are
/// skipped piecemeal, so ``Step/needMoreData`` is only ever answered while fewer than ``maximumBytesNeeded``
/// bytes are pending. A caller may treat a larger pending buffer as a bug.
///
/// ## End of stream
///
/// With `isEndOfStream: true` no more bytes will come: a candidate whose successor cannot be checked is accepted
/// if its frame is complete, and trailing bytes that cannot start anything are skipped as garbage. Then
/// ``Step/needMoreData`` is final: what remains (a truncated last frame, or a partial header after the last
/// frame) is not a frame.
public struct FrameSynchronizer<Frame: SynchronizableFrame>: Sendable {
    /// Why bytes are dropped.
    public enum SkipReason: Sendable, Hashable {
        /// Bytes that are not a frame: data before the first frame, between frames after a glitch, or a rejected
        /// candidate header.
        case garbage
        /// Bytes inside an ID3v2 tag (header, body and footer).
        case id3v2Tag
    }

    /// The outcome of one ``FrameSynchronizer/step(_:isEndOfStream:)``.
    public enum Step: Sendable, Hashable {
        /// The first `frame.length` bytes are this whole frame.
        case frame(Frame)
        /// Drop the first `count` bytes, `1 <= count <= bytes.count`.
        case skip(count: Int, reason: SkipReason)
        /// Nothing can be decided from these bytes; call again with more (or, at end of stream, stop).
        case needMoreData
    }

    /// Running counts since ``init()``, for logs and metrics; one type for every format.
    public typealias Statistics = FramingStatistics

    /// Where the synchroniser is between steps.
    private enum State: Sendable, Hashable {
        /// Looking for a confirmed frame header or an ID3v2 tag.
        case searching
        /// The last reported frame was accepted; `locked` holds the stream parameters to compare against.
        case synchronized(locked: Frame.Header)
        /// Inside an ID3v2 tag, `remaining` bytes of which have not been skipped yet.
        case skippingTag(remaining: Int)
    }

    /// What a candidate header at the front turned out to be.
    private enum Candidate {
        case accept(Frame.Header)
        case reject
        case undecided
    }

    /// The most pending bytes for which ``step(_:isEndOfStream:)`` can still answer ``Step/needMoreData``:
    /// the longest frame plus the next header that confirms it.
    public static var maximumBytesNeeded: Int { Frame.Header.maximumFrameLength + Frame.Header.byteCount }

    private var state: State

    /// Running counts; see ``Statistics``.
    public private(set) var statistics: Statistics

    /// A synchroniser that starts searching, with zero statistics.
    public init() {
        self.state = .searching
        self.statistics = Statistics()
    }

    /// The bytes that follow belong to another stream (a relay switched upstreams): search afresh for a confirmed
    /// header, as at the start, keeping the statistics. The caller drops its pending bytes of the old stream.
    public mutating func startNewStream() {
        state = .searching
    }

    /// Whether the last reported frame was accepted and no sync loss has been seen since.
    public var isSynchronized: Bool {
        if case .synchronized = state { return true }
        return false
    }

    /// Examines the front of `bytes`, the caller's pending data, and says what the first bytes are.
    ///
    /// - Parameters:
    ///   - bytes: every byte not yet consumed, starting right after what previous steps reported or skipped.
    ///   - isEndOfStream: `true` when no more bytes will ever come; see the type's documentation.
    /// - Returns: a ``Step``; the caller must drop exactly the bytes it names before the next call.
    public mutating func step(_ bytes: UnsafeRawBufferPointer, isEndOfStream: Bool = false) -> Step {
        switch state {
        case .skippingTag(let remaining):
            return skipTag(remaining: remaining, available: bytes.count)

        case .synchronized(let locked):
            guard bytes.count >= Frame.Header.byteCount else { return .needMoreData }
            if let header = Frame.Header(bytes, at: 0), header.isCompatible(with: locked) {
                guard bytes.count >= header.frameLength else { return .needMoreData }
                return report(header, in: bytes)
            }
            state = .searching
            statistics.resyncs += 1
            return search(bytes, isEndOfStream: isEndOfStream)

        case .searching:
            return search(bytes, isEndOfStream: isEndOfStream)
        }
    }

    /// One searching step: a confirmed header, an ID3v2 tag, or garbage up to the next possible start.
    private mutating func search(_ bytes: UnsafeRawBufferPointer, isEndOfStream: Bool) -> Step {
        guard !bytes.isEmpty else { return .needMoreData }

        switch bytes[0] {
        case 0xFF:
            switch Self.evaluateCandidate(bytes, isEndOfStream: isEndOfStream) {
            case .accept(let header):
                state = .synchronized(locked: header)
                return report(header, in: bytes)
            case .undecided:
                return .needMoreData
            case .reject:
                break
            }
        case UInt8(ascii: "I"):
            switch ID3v2TagHeader.match(bytes, at: 0, isEndOfStream: isEndOfStream) {
            case .tag(let totalLength):
                return skipTag(remaining: totalLength, available: bytes.count)
            case .incomplete:
                return .needMoreData
            case .none:
                break
            }
        default:
            break
        }

        let count = Self.garbageLength(bytes, isEndOfStream: isEndOfStream)
        statistics.garbageBytes += count
        return .skip(count: count, reason: .garbage)
    }

    /// Skips as much of an ID3v2 tag as is available and remembers the rest.
    private mutating func skipTag(remaining: Int, available: Int) -> Step {
        guard available > 0 else {
            state = .skippingTag(remaining: remaining)
            return .needMoreData
        }
        let count = min(remaining, available)
        state = count == remaining ? .searching : .skippingTag(remaining: remaining - count)
        statistics.id3Bytes += count
        return .skip(count: count, reason: .id3v2Tag)
    }

    /// Reports the complete frame at the front. - Precondition: `bytes.count >= header.frameLength`.
    private mutating func report(_ header: Frame.Header, in bytes: UnsafeRawBufferPointer) -> Step {
        statistics.frames += 1
        return .frame(Frame(header: header, classifying: bytes))
    }

    /// Decides whether the 0xFF at the front starts a frame, confirmed by the header after it.
    private static func evaluateCandidate(_ bytes: UnsafeRawBufferPointer, isEndOfStream: Bool) -> Candidate {
        let available = bytes.count
        guard Frame.Header.couldStart(bytes, at: 0) else { return .reject }
        guard available >= Frame.Header.byteCount else { return isEndOfStream ? .reject : .undecided }
        guard let header = Frame.Header(bytes, at: 0) else { return .reject }

        let length = header.frameLength
        if available >= length + Frame.Header.byteCount {
            guard let next = Frame.Header(bytes, at: length), next.isCompatible(with: header) else {
                return .reject
            }
            return .accept(header)
        }
        // Part of the successor may already show it cannot be a header: no need to wait for the rest.
        if available > length, !Frame.Header.couldStart(bytes, at: length) {
            return .reject
        }
        guard isEndOfStream else { return .undecided }
        return available >= length ? .accept(header) : .reject
    }

    /// How many bytes from the front are garbage: up to the next byte (after the first) that could start a
    /// header or an ID3v2 tag, judged on the bytes available; all of them if there is none.
    private static func garbageLength(_ bytes: UnsafeRawBufferPointer, isEndOfStream: Bool) -> Int {
        let count = bytes.count
        var index = 1
        while index < count {
            switch bytes[index] {
            case 0xFF:
                // At end of stream a header needs all its bytes to be there.
                if Frame.Header.couldStart(bytes, at: index), !isEndOfStream || count - index >= Frame.Header.byteCount {
                    return index
                }
            case UInt8(ascii: "I"):
                if ID3v2TagHeader.match(bytes, at: index, isEndOfStream: isEndOfStream) != .none {
                    return index
                }
            default:
                break
            }
            index += 1
        }
        return count
    }
}
