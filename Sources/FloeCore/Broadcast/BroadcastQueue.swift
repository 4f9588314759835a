import NIOCore

/// The recent history of a mount: a bounded queue of shared blocks, addressed by sequence number.
///
/// Listeners are positions (`sequence` of the next block to send) into this queue, not buffers of their own.
/// When the queue holds more than its `capacity` (bytes, or play time), the oldest blocks are released; a listener
/// whose position falls before `firstSequence` has fallen too far behind and must be dropped (Icecast's
/// `queue-size`, or Floe's `queue-duration`).
///
/// Play time is the frame clock's (the frames' durations), or for Ogg and WebM the stream's own timestamps
/// (`StreamBlock.mediaDuration`). Pass-through blocks have none: their play time is estimated from
/// `unframedBytesPerSecond` (the source's declared bitrate). A queue sized in play time also holds at most
/// `maximumBytesPerSecond` for each second of it, so a stream whose timestamps say little cannot grow it without
/// bound.
///
/// ```
///   firstSequence                                   endSequence
///        |                                               |
///        v                                               v
///      [ b17 ][ b18 ][ b19 ][ b20 ][ b21 ][ b22 ][ b23 ]
///               ^ burst start for a new listener   ^ live edge
///                 (≥ the burst before the end)
/// ```
public struct BroadcastQueue: Sendable {
    /// How much the queue may hold before it releases old blocks.
    public var capacity: StreamAmount
    /// Bytes per second of unframed blocks, for their estimated play time (128 kbit/s unless told).
    public var unframedBytesPerSecond: Int
    /// Blocks in sequence order.
    private var blocks: CircularBuffer<StreamBlock>
    /// Sequence number of the oldest block held (or of the next block, when empty).
    public private(set) var firstSequence: Int
    /// Total bytes held.
    public private(set) var byteCount: Int
    /// Total play time held.
    public private(set) var playTime: Duration = .zero

    public init(capacity: StreamAmount, unframedBytesPerSecond: Int = 16_000, firstSequence: Int = 0) {
        self.capacity = capacity
        self.unframedBytesPerSecond = unframedBytesPerSecond
        self.blocks = CircularBuffer(initialCapacity: 64)
        self.firstSequence = firstSequence
        self.byteCount = 0
    }

    /// A block's play time: its frames' (or its Ogg granule positions'), else its bytes at `unframedBytesPerSecond`.
    public func playTime(of block: StreamBlock) -> Duration {
        if let playTime = block.playTime { return playTime }
        let rate = Int64(max(1, unframedBytesPerSecond))
        return .nanoseconds(Int64(block.bytes.readableBytes) * 1_000_000_000 / rate)
    }

    private var isOverCapacity: Bool {
        switch capacity {
        case .bytes(let bytes): return byteCount > bytes
        case .duration(let duration):
            return playTime > duration || Double(byteCount) > duration.seconds * Double(Self.maximumBytesPerSecond)
        }
    }

    /// Most bytes a duration-sized queue holds per second of its capacity (32 Mbit/s, well above any audio
    /// stream and most live video).
    public static let maximumBytesPerSecond = 4 << 20

    /// Sequence number the next appended block must carry.
    public var endSequence: Int { firstSequence + blocks.count }

    public var isEmpty: Bool { blocks.isEmpty }

    /// Appends the next block and releases old ones beyond capacity (always keeping the newest block).
    /// Returns how many blocks were released.
    @discardableResult
    public mutating func append(_ block: StreamBlock) -> Int {
        if blocks.isEmpty {
            firstSequence = block.sequence
        }
        precondition(block.sequence == endSequence, "blocks must be appended in sequence")
        blocks.append(block)
        byteCount += block.bytes.readableBytes
        playTime += playTime(of: block)
        var released = 0
        while isOverCapacity, blocks.count > 1 {
            let old = blocks.removeFirst()
            byteCount -= old.bytes.readableBytes
            playTime -= playTime(of: old)
            firstSequence += 1
            released += 1
        }
        return released
    }

    /// The block with this sequence number, if still held.
    public func block(_ sequence: Int) -> StreamBlock? {
        guard sequence >= firstSequence, sequence < endSequence else { return nil }
        return blocks[blocks.index(blocks.startIndex, offsetBy: sequence - firstSequence)]
    }

    /// Where a new listener starts: the newest join point (see `StreamBlock.isJoinPoint`) such that at least
    /// `burst` (bytes, or play time) lies between its start and the live edge, or the oldest join point when the
    /// queue holds less. A zero burst, or a queue without a join point, starts at the live edge (where a listener
    /// still waits for a join point).
    public func burstStart(_ burst: StreamAmount) -> Int {
        guard !burst.isZero else { return endSequence }
        var bytes = 0
        var time = Duration.zero
        var sequence = endSequence
        var oldestJoinPoint = endSequence
        for block in blocks.reversed() {
            sequence -= 1
            switch burst {
            case .bytes(let wanted):
                bytes += block.bytes.readableBytes
                if bytes >= wanted, block.isJoinPoint { return sequence }
            case .duration(let wanted):
                time += playTime(of: block)
                if time >= wanted, block.isJoinPoint { return sequence }
            }
            if block.isJoinPoint { oldestJoinPoint = sequence }
        }
        return oldestJoinPoint
    }

    /// Forgets every block; the next block may carry any sequence number.
    public mutating func removeAll() {
        firstSequence = endSequence
        blocks.removeAll(keepingCapacity: true)
        byteCount = 0
        playTime = .zero
    }
}
