/// The sender's half of the FEC stream, without I/O: gathers whole MP3 frames into groups and turns each
/// finished group into its n packets.
///
/// A group holds as many whole frames as fit in k × `maximumSliceBytes` (at least one frame, however large, so a
/// frame is never split across groups: a receiver that rebuilds a group always gets whole frames, and one that
/// joins late starts on a frame boundary). The group's bytes are cut into k slices of
/// ⌈group bytes ÷ k⌉ bytes, the last zero-padded, and the code adds n − k parity slices.
///
/// Frames come in with their play time; ``finishGroup()`` happens when the next frame would not fit, and the group
/// goes out with its duration, so the sender can spread its packets over that time.
public struct FECGroupEncoder: Sendable {
    public let code: ErasureCode
    public let maximumSliceBytes: Int

    /// A finished group, ready to send.
    public struct Group: Sendable, Equatable {
        public var number: UInt32
        /// The n packets, data slices first.
        public var packets: [FECPacket]
        /// Play time of the group's frames, in microseconds: how long its packets are spread over.
        public var durationMicroseconds: UInt64
        /// The group's payload (its frames, unpadded).
        public var bytes: [UInt8]
    }

    private var pending: [UInt8] = []
    private var pendingDuration: UInt64 = 0
    private var pendingStart: UInt64 = 0
    private var nextNumber: UInt32
    private var nextStartsStream = true
    /// Media time (microseconds) of the next frame: the sum of the durations so far.
    private var mediaTime: UInt64 = 0

    public init(code: ErasureCode, maximumSliceBytes: Int, firstGroupNumber: UInt32 = 0) {
        precondition(maximumSliceBytes > 0 && maximumSliceBytes <= Int(UInt16.max))
        self.code = code
        self.maximumSliceBytes = maximumSliceBytes
        self.nextNumber = firstGroupNumber
    }

    /// The largest group that still fits the slice limit.
    public var groupCapacity: Int { code.dataSlices * maximumSliceBytes }

    /// Adds one frame (all its bytes) lasting `durationMicroseconds`; returns the group it closed, if the frame
    /// did not fit in the one being filled.
    public mutating func append(frame: [UInt8], durationMicroseconds: UInt64) -> Group? {
        var finished: Group?
        if !pending.isEmpty, pending.count + frame.count > groupCapacity {
            finished = finishGroup()
        }
        if pending.isEmpty { pendingStart = mediaTime }
        pending += frame
        pendingDuration += durationMicroseconds
        mediaTime += durationMicroseconds
        return finished
    }

    /// Closes the group being filled (the source paused or ended), if it holds anything.
    public mutating func finishGroup() -> Group? {
        guard !pending.isEmpty else { return nil }
        let k = code.dataSlices
        let sliceBytes = min((pending.count + k - 1) / k, Int(UInt16.max))
        var data: [[UInt8]] = []
        data.reserveCapacity(k)
        for index in 0..<k {
            let start = min(index * sliceBytes, pending.count)
            let end = min(start + sliceBytes, pending.count)
            var slice = Array(pending[start..<end])
            slice += [UInt8](repeating: 0, count: sliceBytes - slice.count)
            data.append(slice)
        }
        let slices = data + code.encode(data)
        let flags: FECPacket.Flags = nextStartsStream ? [.startOfStream] : []
        let packets = slices.enumerated().map { index, slice in
            FECPacket(
                dataSlices: UInt8(k),
                totalSlices: UInt8(code.totalSlices),
                sliceNumber: UInt8(index),
                groupNumber: nextNumber,
                groupBytes: UInt32(pending.count),
                flags: flags,
                mediaTimeMicroseconds: pendingStart,
                slice: slice
            )
        }
        let group = Group(number: nextNumber, packets: packets, durationMicroseconds: pendingDuration, bytes: pending)
        nextNumber &+= 1
        nextStartsStream = false
        pending.removeAll(keepingCapacity: true)
        pendingDuration = 0
        return group
    }

    /// The end-of-stream packet, after closing the group being filled; the next group starts a new stream.
    public mutating func endOfStream() -> (last: Group?, packet: FECPacket) {
        let last = finishGroup()
        nextStartsStream = true
        return (last, FECPacket.endOfStream(groupNumber: nextNumber, mediaTimeMicroseconds: mediaTime))
    }
}
