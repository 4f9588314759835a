import FloeFEC
import Testing

@Suite("FEC groups: sender and receiver halves")
struct FECGroupTests {
    /// 120 frames of 417 or 418 bytes (128 kbit/s at 44.1 kHz), each filled with its own number.
    static let frames: [[UInt8]] = (0..<120).map { index in
        [UInt8](repeating: UInt8(index % 251), count: index % 3 == 0 ? 418 : 417)
    }

    static func groups(k: Int = 4, n: Int = 6, sliceBytes: Int = 600, firstGroupNumber: UInt32 = 0) throws -> [FECGroupEncoder.Group] {
        var encoder = FECGroupEncoder(code: try ErasureCode(dataSlices: k, totalSlices: n), maximumSliceBytes: sliceBytes, firstGroupNumber: firstGroupNumber)
        var groups: [FECGroupEncoder.Group] = []
        for frame in frames {
            if let group = encoder.append(frame: frame, durationMicroseconds: 26_122) { groups.append(group) }
        }
        let end = encoder.endOfStream()
        if let last = end.last { groups.append(last) }
        return groups
    }

    /// Feeds packets through a fresh assembler, then its end of stream; returns the output and the events.
    static func receive(_ packets: [FECPacket]) -> (bytes: [UInt8], events: [FECGroupAssembler.Event]) {
        var assembler = FECGroupAssembler()
        var events: [FECGroupAssembler.Event] = []
        for packet in packets {
            // Through the wire format, as a receiver sees them.
            events += assembler.receive(try! FECPacket(parsing: packet.serialized()))
        }
        events += assembler.receive(.endOfStream(groupNumber: 0))
        #expect(assembler.receive(.endOfStream(groupNumber: 0)).isEmpty, "a repeated end of stream says nothing new")
        var bytes: [UInt8] = []
        for case .group(_, let payload, _) in events { bytes += payload }
        return (bytes, events)
    }

    @Test func groupsHoldWholeFramesWithinTheSliceLimitAndKPlusParitySlices() throws {
        let groups = try Self.groups()
        #expect(groups.flatMap(\.bytes) == Self.frames.flatMap { $0 })
        var frameIndex = 0
        for group in groups {
            #expect(group.bytes.count <= 4 * 600)
            #expect(group.packets.count == 6)
            #expect(group.packets.allSatisfy { $0.sliceBytes == (group.bytes.count + 3) / 4 && Int($0.groupBytes) == group.bytes.count })
            // The group is a run of whole frames.
            var length = 0
            while length < group.bytes.count {
                length += Self.frames[frameIndex].count
                frameIndex += 1
            }
            #expect(length == group.bytes.count, "group \(group.number) ends on a frame boundary")
            #expect(group.durationMicroseconds == UInt64(group.bytes.count / 417) * 26_122)
        }
        #expect(groups[0].packets.allSatisfy { $0.flags.contains(.startOfStream) })
        #expect(groups[1].packets.allSatisfy { $0.flags.isEmpty })
        #expect(groups.map(\.number) == Array(0..<UInt32(groups.count)))
    }

    @Test func everyGroupIsRebuiltWhenAnyNMinusKSlicesAreLost() throws {
        let groups = try Self.groups()
        // For each group a different choice of 2 lost slices out of 6 (all 15 choices cycle through).
        let choices = (0..<6).flatMap { a in ((a + 1)..<6).map { b in [a, b] } }
        var packets: [FECPacket] = []
        for (index, group) in groups.enumerated() {
            let lost = choices[index % choices.count]
            packets += group.packets.filter { !lost.contains(Int($0.sliceNumber)) }
        }
        let (bytes, events) = Self.receive(packets)
        #expect(bytes == Self.frames.flatMap { $0 })
        let repaired = events.compactMap { event -> Int? in
            if case .group(_, _, let repaired) = event { return repaired }
            return nil
        }
        #expect(repaired.count == groups.count)
        #expect(repaired.contains(2), "groups that lost two data slices were repaired from parity")
        #expect(events.last == .endOfStream)
        #expect(events.filter { if case .streamStarted = $0 { return true } else { return false } }.count == 1)
    }

    @Test func aGroupMissingMoreThanNMinusKIsReportedLostAndTheRestArrive() throws {
        let groups = try Self.groups()
        var packets: [FECPacket] = []
        for group in groups {
            packets += group.number == 5 ? Array(group.packets.prefix(3)) : group.packets
        }
        let (bytes, events) = Self.receive(packets)
        #expect(events.contains(.lost(number: 5, received: 3, needed: 4)))
        let expected = groups.filter { $0.number != 5 }.flatMap(\.bytes)
        #expect(bytes == expected, "the lost group leaves a clean hole of whole frames")
    }

    @Test func aLateJoinerStartsOnAGroupBoundary() throws {
        let groups = try Self.groups()
        // The receiver starts listening after the first four packets of group 3: two of its slices remain.
        let packets = Array(groups[3].packets.dropFirst(4)) + groups[4...].flatMap(\.packets)
        let (bytes, events) = Self.receive(packets)
        #expect(events.first == .joinedLate(number: 3))
        #expect(bytes == groups[4...].flatMap(\.bytes))
        #expect(!events.contains { if case .lost = $0 { return true } else { return false } })
    }

    @Test func packetsOutOfOrderWithinAFewGroupsAndAcrossTheNumberWrapStillAssemble() throws {
        let groups = try Self.groups(firstGroupNumber: UInt32.max - 5)
        var packets = groups.flatMap(\.packets)
        // Swap neighbours pairwise: reordering as a network might.
        for index in stride(from: 0, to: packets.count - 1, by: 2) { packets.swapAt(index, index + 1) }
        let (bytes, _) = Self.receive(packets)
        #expect(bytes == Self.frames.flatMap { $0 })
    }

    @Test func aRestartedSenderIsANewStreamNotALoss() throws {
        let first = try Self.groups()
        let second = try Self.groups(firstGroupNumber: 1000)  // a new sender numbers from elsewhere
        let (bytes, events) = Self.receive(first.prefix(5).flatMap(\.packets) + second.flatMap(\.packets))
        #expect(bytes == first.prefix(5).flatMap(\.bytes) + second.flatMap(\.bytes))
        #expect(events.filter { if case .streamStarted = $0 { return true } else { return false } } == [.streamStarted(number: 0), .streamStarted(number: 1000)])
        #expect(!events.contains { if case .lost = $0 { return true } else { return false } })
        #expect(!events.contains { if case .joinedLate = $0 { return true } else { return false } })
    }

    @Test(arguments: [UInt32(500_000), UInt32.max - 400_000])
    func aRestartWhoseFirstGroupWasLostIsFoundAgainWhereverItsNumbersAre(restartAt: UInt32) throws {
        let first = try Self.groups(firstGroupNumber: 1000)
        let second = try Self.groups(firstGroupNumber: restartAt)
        // The restarted sender's first group (the one with the start-of-stream flag) never arrives.
        let (bytes, events) = Self.receive(first.prefix(4).flatMap(\.packets) + second.dropFirst().flatMap(\.packets))
        #expect(bytes == first.prefix(4).flatMap(\.bytes) + second.dropFirst().flatMap(\.bytes))
        #expect(events.contains(.streamStarted(number: restartAt &+ 1)))
        #expect(events.count < 100, "no lost-group report for every number in between")
    }

    @Test func aLoneVeryLateDuplicateDoesNotResynchronise() throws {
        let groups = try Self.groups()
        // A packet of the stream's first group (flagged start of stream) turns up again, far behind the stream.
        let stray = groups[0].packets[3]
        let later = try Self.groups(firstGroupNumber: 5000)
        let (bytes, events) = Self.receive(later.prefix(3).flatMap(\.packets) + [stray] + later.dropFirst(3).flatMap(\.packets))
        #expect(bytes == later.flatMap(\.bytes))
        #expect(events.filter { if case .streamStarted = $0 { return true } else { return false } }.count == 1)
    }
}
