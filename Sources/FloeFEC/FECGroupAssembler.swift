/// The receiver's half of the FEC stream, without I/O: collects packets into groups, rebuilds each group from
/// any k of its n slices, and hands groups out in order, saying which needed repair and which were lost.
///
/// Groups are given out strictly in group-number order. A group is waited for until a packet of a group two
/// numbers later arrives (the sender spreads a group's packets over the next group's play time, so by then every
/// packet of it has been sent): then it is rebuilt if k slices came, or reported lost. The first group after
/// joining may have begun before the receiver listened: if it cannot be rebuilt it is reported as a late join,
/// not a loss. Output therefore always starts on a group boundary, which is a frame boundary.
public struct FECGroupAssembler: Sendable {
    public enum Event: Sendable, Equatable {
        /// A group rebuilt: its payload (whole frames), and how many of its data slices were rebuilt from parity.
        case group(number: UInt32, bytes: [UInt8], repairedSlices: Int)
        /// Fewer than k slices of a group arrived.
        case lost(number: UInt32, received: Int, needed: Int)
        /// The group being sent when the receiver joined could not be rebuilt; output starts after it.
        case joinedLate(number: UInt32)
        /// The sender (re)started its stream: a group with the start-of-stream flag, or one too far from the
        /// expected group to belong to the same stream.
        case streamStarted(number: UInt32)
        /// The sender said it stopped.
        case endOfStream
    }

    private struct PartialGroup: Sendable {
        var dataSlices: Int
        var totalSlices: Int
        var groupBytes: Int
        var sliceBytes: Int
        var slices: [Int: [UInt8]] = [:]
    }

    /// The next group to hand out; `nil` before the first packet and after an end of stream.
    private var next: UInt32?
    private var groups: [UInt32: PartialGroup] = [:]
    /// Whether `next` is the first group since joining (its loss is a late join).
    private var nextIsFirst = true
    private var codes: [Int: ErasureCode] = [:]
    /// Whether the last thing heard was an end of stream (its repeats are ignored).
    private var ended = false
    /// A packet far from the expected group, kept until a second one confirms the stream moved there.
    private var farPacket: FECPacket?
    /// The groups handed out or given up last, whose remaining packets are to be ignored.
    private var recentlyReleased: [UInt32] = []
    /// k of the last group seen, to report a group of which nothing arrived.
    private var lastDataSlices = 0

    /// How far (in groups, either way) a packet's group may be from the one expected before the stream is taken
    /// to have started afresh at that group.
    public static let resynchronizationDistance = 64

    public init() {}

    /// Takes one packet; returns what it made ready.
    public mutating func receive(_ packet: FECPacket) -> [Event] {
        var events: [Event] = []
        if packet.isEndOfStream {
            // Senders repeat it; the copies after the first say nothing new.
            guard !ended else { return events }
            ended = true
            events += flush()
            events.append(.endOfStream)
            return events
        }
        ended = false
        let number = packet.groupNumber
        // The rest of a group already handed out (its first k slices sufficed) or given up.
        if recentlyReleased.contains(number) { return events }
        if let current = next, abs(Int(distance(from: current, to: number))) > Self.resynchronizationDistance {
            // Far from anything expected: the sender restarted and its first group was lost, or another sender
            // came. Waiting would mean giving up billions of groups one by one, or ignoring the stream for good.
            // One far packet could also be a very late duplicate, so a second one near it confirms the change.
            guard let candidate = farPacket, abs(Int(distance(from: candidate.groupNumber, to: number))) <= 2 else {
                farPacket = packet
                return events
            }
            farPacket = nil
            events += flush()
            if !candidate.flags.contains(.startOfStream) { events.append(.streamStarted(number: candidate.groupNumber)) }
            events += receive(candidate)
        } else {
            farPacket = nil
        }
        if packet.flags.contains(.startOfStream), groups[number] == nil {
            // A new stream: what is pending belongs to the old one, and numbering may start afresh.
            if let current = next, current != number { events += flush() }
            events.append(.streamStarted(number: number))
        }
        if next == nil {
            // Joining (or restarting): this group may have begun before we listened.
            next = number
            nextIsFirst = true
        }
        guard let current = next, distance(from: current, to: number) >= 0 else {
            return events  // a straggler for a group already handed out or given up
        }
        var group = groups[number] ?? PartialGroup(
            dataSlices: Int(packet.dataSlices),
            totalSlices: Int(packet.totalSlices),
            groupBytes: Int(packet.groupBytes),
            sliceBytes: packet.sliceBytes
        )
        // Slices that disagree with the group's first packet about its shape are not part of it.
        guard group.dataSlices == Int(packet.dataSlices), group.totalSlices == Int(packet.totalSlices),
            group.sliceBytes == packet.sliceBytes, group.groupBytes == Int(packet.groupBytes)
        else { return events }
        group.slices[Int(packet.sliceNumber)] = packet.slice
        groups[number] = group
        lastDataSlices = group.dataSlices
        events += handOut()
        return events
    }

    /// Gives out everything pending, rebuilt or reported lost (the stream ended, or the receiver stops).
    public mutating func flush() -> [Event] {
        var events: [Event] = []
        while let current = next, let last = groups.keys.max(by: { distance(from: current, to: $0) < distance(from: current, to: $1) }),
            distance(from: current, to: last) >= 0
        {
            events += release(current)
        }
        next = nil
        nextIsFirst = true
        groups.removeAll()
        return events
    }

    /// Hands out complete groups in order, giving up on a group once packets two groups later arrive.
    private mutating func handOut() -> [Event] {
        var events: [Event] = []
        while let current = next {
            if let group = groups[current], group.slices.count >= group.dataSlices {
                events += release(current)
                continue
            }
            let newer = groups.keys.contains { distance(from: current, to: $0) >= 2 }
            guard newer else { break }
            events += release(current)
        }
        return events
    }

    /// Rebuilds or reports group `number`, and moves on to the next.
    private mutating func release(_ number: UInt32) -> [Event] {
        defer {
            groups[number] = nil
            next = number &+ 1
            nextIsFirst = false
            recentlyReleased.append(number)
            if recentlyReleased.count > 8 { recentlyReleased.removeFirst() }
        }
        guard let group = groups[number] else {
            return nextIsFirst ? [] : [.lost(number: number, received: 0, needed: lastDataSlices)]
        }
        guard group.slices.count >= group.dataSlices, let bytes = rebuild(group) else {
            return nextIsFirst
                ? [.joinedLate(number: number)]
                : [.lost(number: number, received: group.slices.count, needed: group.dataSlices)]
        }
        let repaired = (0..<group.dataSlices).filter { group.slices[$0] == nil }.count
        return [.group(number: number, bytes: bytes, repairedSlices: repaired)]
    }

    private mutating func rebuild(_ group: PartialGroup) -> [UInt8]? {
        let key = group.dataSlices << 8 | group.totalSlices
        if codes[key] == nil {
            codes[key] = try? ErasureCode(dataSlices: group.dataSlices, totalSlices: group.totalSlices)
        }
        guard let code = codes[key] else { return nil }
        let slices = group.slices.map { (index: $0.key, bytes: $0.value) }
        guard let data = try? code.decode(slices) else { return nil }
        return Array(data.joined().prefix(group.groupBytes))
    }

    /// Signed distance between group numbers, across the 32-bit wrap.
    private func distance(from a: UInt32, to b: UInt32) -> Int32 {
        Int32(bitPattern: b &- a)
    }
}
