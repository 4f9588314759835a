import MPEGAudio
import Testing

@Suite("MPEGFrameSynchronizer")
struct MPEGFrameSynchronizerTests {
    typealias Statistics = MPEGFrameSynchronizer.Statistics

    // MARK: Clean streams

    @Test(arguments: [1, 2, 3, 4, 5, 7, 208, 417, 418, 1045, 4096, Int.max])
    func cleanStreamGivesEveryFrameInEveryChunking(chunkSize: Int) throws {
        let parts = try SyntheticStream.mp3Frames(12)
        let outcome = SynchronizerDriver.feed(parts.flatMap { $0 }, chunkSize: chunkSize)

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: Set(parts.indices)))
        #expect(outcome.statistics == Statistics(frames: 12))
        #expect(outcome.leftover == 0)
        #expect(outcome.isSynchronized)
    }

    @Test(
        arguments: [
            [0xFF, 0xFF, 0xC2, 0x00],  // MPEG-1 Layer I
            [0xFF, 0xFC, 0xA4, 0x84],  // MPEG-1 Layer II with CRC
            [0xFF, 0xF3, 0x80, 0xC4],  // MPEG-2 Layer III 22.05 kHz mono
            [0xFF, 0xE3, 0x48, 0xC4],  // MPEG-2.5 Layer III 8 kHz mono
            [0xFF, 0xE5, 0xEA, 0xC0],  // the longest frame
        ] as [[UInt8]]
    )
    func everyVersionAndLayerSynchronises(header: [UInt8]) throws {
        let parts = try (0..<4).map { _ in try SyntheticStream.frame(header) }
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [0, 1, 2, 3]))
        #expect(outcome.statistics == Statistics(frames: 4))
    }

    @Test func helperListsFrameOffsets() throws {
        let parts = [SyntheticStream.garbage(33)] + (try SyntheticStream.mp3Frames(3))
        let found = MPEGFrameSynchronizer.frames(in: parts.flatMap { $0 })

        #expect(found.map(\.offset) == [33, 33 + 417, 33 + 417 + 418])
        #expect(found.map(\.frame.length) == [417, 418, 626])
        #expect(found.allSatisfy { $0.frame.kind == .audio })
        #expect(MPEGFrameSynchronizer.frames(in: []).isEmpty)
    }

    // MARK: Garbage

    @Test func garbageBeforeAndBetweenFramesIsSkippedAndCountedExactly() throws {
        let frames = try SyntheticStream.mp3Frames(9)
        let parts =
            [SyntheticStream.garbage(1234)] + frames[0..<3] + [SyntheticStream.garbage(77)] + frames[3..<6]
            + [SyntheticStream.garbage(5)] + frames[6..<9]
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        let frameIndices: Set<Int> = [1, 2, 3, 5, 6, 7, 9, 10, 11]
        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: frameIndices))
        #expect(outcome.statistics == Statistics(frames: 9, garbageBytes: 1234 + 77 + 5, resyncs: 2))
        #expect(outcome.leftover == 0)
    }

    @Test func longGarbageIsSkippedInOneStep() {
        var synchronizer = MPEGFrameSynchronizer()
        let zeros = [UInt8](repeating: 0, count: 10_000)

        #expect(synchronizer.step(zeros) == .skip(count: 10_000, reason: .garbage))
        // A trailing 0xFF might start a header: everything before it goes in one step, then it waits.
        #expect(synchronizer.step(zeros + [0xFF]) == .skip(count: 10_000, reason: .garbage))
        #expect(synchronizer.step([0xFF]) == .needMoreData)
        // 0xFF followed by a byte that cannot continue a header is garbage at once.
        #expect(synchronizer.step([0xFF, 0x00, 0x00]) == .skip(count: 3, reason: .garbage))
        // At end of stream nothing can follow, so a lone 0xFF is garbage too.
        #expect(synchronizer.step([0xFF], isEndOfStream: true) == .skip(count: 1, reason: .garbage))
        #expect(synchronizer.step([], isEndOfStream: true) == .needMoreData)
        #expect(synchronizer.statistics == Statistics(garbageBytes: 20_004))
    }

    @Test func strayHeaderInGarbageIsRejectedWhileSearching() throws {
        // A valid-looking 128k header whose "next header" 417 bytes on lands in the middle of a real frame.
        let stray: [UInt8] = [0x00, 0x11, 0xFF, 0xFB, 0x90, 0x64, 0x01, 0x02, 0x03, 0x04]
        let frames = try SyntheticStream.mp3Frames(4)
        let parts = [stray] + frames
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [1, 2, 3, 4]))
        #expect(outcome.statistics == Statistics(frames: 4, garbageBytes: stray.count))
    }

    @Test func searchingNeedsTheNextHeaderBeforeAcceptingACandidate() throws {
        let frames = try SyntheticStream.mp3Frames(2)
        let stream = frames[0] + frames[1]
        var synchronizer = MPEGFrameSynchronizer()

        #expect(synchronizer.step(Array(stream[..<417])) == .needMoreData)
        #expect(synchronizer.step(Array(stream[..<(417 + 3)])) == .needMoreData)
        #expect(synchronizer.step(Array(stream[..<(417 + 4)])) == .frame(try frame(frames[0])))
        #expect(synchronizer.isSynchronized)
    }

    @Test func synchronizedStreamIsPassedOnWithoutLookAhead() throws {
        let frames = try SyntheticStream.mp3Frames(3)
        var synchronizer = MPEGFrameSynchronizer()
        #expect(synchronizer.step(frames[0] + frames[1].prefix(4)) == .frame(try frame(frames[0])))

        // The second frame goes out as soon as its last byte is here, without waiting for the third header.
        #expect(synchronizer.step(Array(frames[1].dropLast())) == .needMoreData)
        #expect(synchronizer.step(frames[1]) == .frame(try frame(frames[1])))
        #expect(synchronizer.step(Array(frames[2].prefix(3))) == .needMoreData)
        #expect(synchronizer.step(frames[2]) == .frame(try frame(frames[2])))
        #expect(synchronizer.statistics == Statistics(frames: 3))
    }

    @Test func incompatibleHeaderLosesSyncAndTheNewStreamIsFound() throws {
        let first = try SyntheticStream.mp3Frames(3)
        let second = try (0..<3).map { _ in try SyntheticStream.frame([0xFF, 0xF3, 0x80, 0xC4]) }  // MPEG-2 mono
        let parts = first + second
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: Set(parts.indices)))
        #expect(outcome.statistics == Statistics(frames: 6, resyncs: 1))
        #expect(outcome.isSynchronized)
    }

    // MARK: ID3v2 tags

    @Test(arguments: [false, true])
    func id3TagAtTheStartIsSkipped(footer: Bool) throws {
        let tag = SyntheticStream.id3Tag(bodySize: 3000, footer: footer)
        #expect(tag.count == 10 + 3000 + (footer ? 10 : 0))
        let parts = [tag] + (try SyntheticStream.mp3Frames(5))
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [1, 2, 3, 4, 5]))
        #expect(outcome.statistics == Statistics(frames: 5, id3Bytes: tag.count))
    }

    @Test(arguments: [false, true])
    func id3TagInTheMiddleIsSkipped(footer: Bool) throws {
        let tag = SyntheticStream.id3Tag(bodySize: 200_000, footer: footer)
        let frames = try SyntheticStream.mp3Frames(6)
        let parts = Array(frames[0..<3]) + [SyntheticStream.garbage(50), tag] + frames[3..<6]
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [0, 1, 2, 5, 6, 7]))
        // The tag is not a frame header, so the synchronised stream loses sync once.
        #expect(outcome.statistics == Statistics(frames: 6, garbageBytes: 50, id3Bytes: tag.count, resyncs: 1))
    }

    @Test func id3TagIsSkippedAcrossCallsWithinTheBytesGiven() {
        let tag = SyntheticStream.id3Tag(bodySize: 100, footer: true)
        var synchronizer = MPEGFrameSynchronizer()

        #expect(synchronizer.step(Array(tag.prefix(9))) == .needMoreData)
        #expect(synchronizer.step(Array(tag.prefix(30))) == .skip(count: 30, reason: .id3v2Tag))
        #expect(synchronizer.step([]) == .needMoreData)
        #expect(synchronizer.step(Array(tag[30..<31])) == .skip(count: 1, reason: .id3v2Tag))
        // The rest of the tag plus what follows: only the tag's bytes are skipped as tag.
        #expect(synchronizer.step(Array(tag[31...]) + [0, 0]) == .skip(count: tag.count - 31, reason: .id3v2Tag))
        #expect(synchronizer.step([0, 0]) == .skip(count: 2, reason: .garbage))
        #expect(synchronizer.statistics == Statistics(garbageBytes: 2, id3Bytes: tag.count))
    }

    @Test func malformedId3HeaderIsGarbage() throws {
        var notATag = SyntheticStream.id3Tag(bodySize: 0, footer: false)
        notATag[6] = 0x80  // not a syncsafe size byte
        let parts = [notATag] + (try SyntheticStream.mp3Frames(3))
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [1, 2, 3]))
        #expect(outcome.statistics == Statistics(frames: 3, garbageBytes: 10))
    }

    // MARK: End of stream

    @Test(arguments: [1, 200, 416])
    func truncatedLastFrameIsNeverReported(keptBytes: Int) throws {
        let frames = try SyntheticStream.mp3Frames(4)
        let truncated = Array(try SyntheticStream.frame([0xFF, 0xFB, 0x90, 0x64]).prefix(keptBytes))
        let parts = frames + [truncated]
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [0, 1, 2, 3]))
        #expect(outcome.statistics == Statistics(frames: 4))
        #expect(outcome.leftover == keptBytes)
        #expect(MPEGFrameSynchronizer.frames(in: parts.flatMap { $0 }).count == 4)
    }

    @Test func loneFrameIsAcceptedOnlyAtEndOfStream() throws {
        let lone = try SyntheticStream.frame([0xFF, 0xFB, 0x90, 0x64])
        var synchronizer = MPEGFrameSynchronizer()

        #expect(synchronizer.step(lone) == .needMoreData)
        #expect(synchronizer.step(lone, isEndOfStream: true) == .frame(try frame(lone)))

        // Garbage, then a single frame: still found at end of stream.
        let parts = [SyntheticStream.garbage(10), lone]
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })
        #expect(outcome.frames == SynchronizerDriver.expectedFrames(parts, frameIndices: [1]))
        #expect(outcome.statistics == Statistics(frames: 1, garbageBytes: 10))
    }

    // MARK: Tag frames

    @Test func lameInfoFrameIsRecognised() throws {
        // MPEG-1 mono: the tag sits after 17 bytes of side information, at 4 + 17 = 21.
        let info = try SyntheticStream.frame([0xFF, 0xFB, 0x90, 0xC4], tag: "Info", at: 21)
        let audio = try (0..<3).map { _ in try SyntheticStream.frame([0xFF, 0xFB, 0x90, 0xC4]) }
        let parts = [info] + audio
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames.map(\.kind) == [.xingInfo, .audio, .audio, .audio])
        #expect(outcome.statistics == Statistics(frames: 4))
    }

    @Test func vbriFrameIsRecognised() throws {
        let vbri = try SyntheticStream.frame([0xFF, 0xFB, 0x90, 0x64], tag: "VBRI", at: 36)
        let parts = [vbri] + (try SyntheticStream.mp3Frames(3))
        let outcome = SynchronizerDriver.feedAllWays(parts.flatMap { $0 })

        #expect(outcome.frames.map(\.kind) == [.vbri, .audio, .audio, .audio])
    }

    @Test(arguments: [
        // (header, tag, offset, expected kind)
        TagCase([0xFF, 0xFB, 0x90, 0x64], "Xing", 36, .xingInfo),  // MPEG-1 stereo: 4 + 32
        TagCase([0xFF, 0xFB, 0x90, 0x64], "Info", 36, .xingInfo),
        TagCase([0xFF, 0xFA, 0x90, 0xC4], "Info", 21, .xingInfo),  // with CRC: still 4 + 17, as LAME writes it
        TagCase([0xFF, 0xF3, 0x80, 0xC4], "Xing", 13, .xingInfo),  // MPEG-2 mono: 4 + 9
        TagCase([0xFF, 0xF3, 0x80, 0x64], "Info", 21, .xingInfo),  // MPEG-2 stereo: 4 + 17
        TagCase([0xFF, 0xE3, 0x48, 0xC4], "VBRI", 36, .vbri),  // MPEG-2.5 mono
        TagCase([0xFF, 0xFB, 0x90, 0x64], "Info", 21, .audio),  // wrong offset for stereo
        TagCase([0xFF, 0xFB, 0x90, 0x64], "Xing", 40, .audio),
        TagCase([0xFF, 0xFD, 0xA4, 0x04], "Xing", 36, .audio),  // Layer II never carries the tag
        TagCase([0xFF, 0xFB, 0x90, 0x64], "Xinf", 36, .audio),
    ])
    func tagFrameKinds(_ testCase: TagCase) throws {
        let bytes = try SyntheticStream.frame(testCase.header, tag: testCase.tag, at: testCase.offset)
        var synchronizer = MPEGFrameSynchronizer()
        guard case .frame(let frame) = synchronizer.step(bytes, isEndOfStream: true) else {
            Issue.record("no frame")
            return
        }
        #expect(frame.kind == testCase.kind)
    }

    struct TagCase: Sendable, CustomTestStringConvertible {
        var header: [UInt8]
        var tag: String
        var offset: Int
        var kind: MPEGFrameKind

        init(_ header: [UInt8], _ tag: String, _ offset: Int, _ kind: MPEGFrameKind) {
            self.header = header
            self.tag = tag
            self.offset = offset
            self.kind = kind
        }

        var testDescription: String { "\(tag)@\(offset) in \(header) -> \(kind)" }
    }

    // MARK: Helpers

    /// The frame the synchroniser must report for `bytes`, which start with a valid header.
    private func frame(_ bytes: [UInt8], kind: MPEGFrameKind = .audio) throws -> MPEGFrame {
        let header = try #require(MPEGFrameHeader(bytes[0], bytes[1], bytes[2], bytes[3]))
        return MPEGFrame(header: header, kind: kind)
    }
}
