import NIOCore

/// The recent history of a mount: a bounded queue of shared blocks, addressed by sequence number.
///
/// Listeners are positions (`sequence` of the next block to send) into this queue, not buffers of their own.
/// When the queue holds more than `capacityBytes`, the oldest blocks are released; a listener whose position
/// falls before `firstSequence` has fallen too far behind and must be dropped (Icecast's `queue-size`).
///
/// ```
///   firstSequence                                   endSequence
///        |                                               |
///        v                                               v
///      [ b17 ][ b18 ][ b19 ][ b20 ][ b21 ][ b22 ][ b23 ]
///               ^ burst start for a new listener   ^ live edge
///                 (≥ burstBytes before the end)
/// ```
public struct BroadcastQueue: Sendable {
    /// Bytes the queue may hold before it releases old blocks.
    public var capacityBytes: Int
    /// Blocks in sequence order.
    private var blocks: CircularBuffer<StreamBlock>
    /// Sequence number of the oldest block held (or of the next block, when empty).
    public private(set) var firstSequence: Int
    /// Total bytes held.
    public private(set) var byteCount: Int

    public init(capacityBytes: Int, firstSequence: Int = 0) {
        self.capacityBytes = capacityBytes
        self.blocks = CircularBuffer(initialCapacity: 64)
        self.firstSequence = firstSequence
        self.byteCount = 0
    }

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
        var released = 0
        while byteCount > capacityBytes, blocks.count > 1 {
            let old = blocks.removeFirst()
            byteCount -= old.bytes.readableBytes
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

    /// Where a new listener starts: the newest block such that at least `burstBytes` lie between its start and
    /// the live edge, or the oldest block when the queue holds less. `burstBytes == 0` starts at the live edge.
    public func burstStart(burstBytes: Int) -> Int {
        guard burstBytes > 0 else { return endSequence }
        var accumulated = 0
        var sequence = endSequence
        for block in blocks.reversed() {
            accumulated += block.bytes.readableBytes
            sequence -= 1
            if accumulated >= burstBytes { return sequence }
        }
        return firstSequence
    }

    /// Forgets every block; the next block may carry any sequence number.
    public mutating func removeAll() {
        firstSequence = endSequence
        blocks.removeAll(keepingCapacity: true)
        byteCount = 0
    }
}
