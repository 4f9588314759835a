import FloeCore
import FloeTestSupport
import Foundation
import MPEGAudio
import NIOCore
import Testing

@Suite("HLS segmenter, transport stream and playlist")
struct HLSTests {
    static let mp3 = SineMP3.make(seconds: 12)

    /// The sine tone as the mount would publish it: frame-aligned blocks of about 0.5 s, with `title` from block
    /// `titleFrom` on.
    static func blocks(title: String? = nil, titleFrom: Int = 0) -> [StreamBlock] {
        var ingest = SourceIngest(format: .mpeg)
        var outputs = ingest.receive(ByteBuffer(bytes: mp3), at: .uptimeNanoseconds(0))
        outputs += ingest.finish(at: .uptimeNanoseconds(0))
        return outputs.enumerated().map { index, output in
            let metadata = title != nil && index >= titleFrom ? ICYMetadata(version: 1, title: title!)! : .empty
            return StreamBlock(sequence: index, bytes: output.bytes, metadata: metadata, frames: output.frames)
        }
    }

    static func segmented(_ blocks: [StreamBlock], configuration: HLSConfiguration = HLSConfiguration()) -> HLSSegmenter {
        var segmenter = HLSSegmenter(configuration: configuration)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for (index, block) in blocks.enumerated() {
            segmenter.append(block, at: start.addingTimeInterval(Double(index) * 0.5))
        }
        return segmenter
    }

    @Test func segmentsAndPartsHoldWholeFramesWithinTheirTargets() throws {
        let segmenter = Self.segmented(Self.blocks(), configuration: HLSConfiguration(window: 10))
        // Segments of just under 2 s, each of four parts of 19 frames.
        let frames = MPEGFrameSynchronizer.frames(in: Self.mp3).count
        #expect(segmenter.segments.count == frames / 76)
        let frame = Duration.nanoseconds(26_122_448)
        for segment in segmenter.segments {
            #expect(segment.parts.count == 4)
            #expect(segment.duration <= .seconds(2))
            #expect(segment.duration > .seconds(2) - frame * 19)
            for part in segment.parts {
                #expect(part.duration <= .milliseconds(500))
                #expect(part.duration >= .milliseconds(425), "a part is at least 85 % of the part target")
            }
        }
        #expect(segmenter.segments.map(\.sequence) == Array(0..<(frames / 76)))
    }

    /// Frames that grow longer within one source (found by the fuzzer): 18 frames of 44.1 kHz MPEG-1 (470 ms, and
    /// a 19th of the same length would still fit a 500 ms part), then one of 8 kHz MPEG-2.5 (72 ms), over and over;
    /// without parts, 75 frames (1.96 s) fill most of a 2 s segment before the longer one. Every frame is relayed
    /// once, in order.
    @Test(arguments: [HLSConfiguration.Format.transportStream, .packed], [true, false])
    func partsAndSegmentsStayWithinTheirTargetsWhenFramesGrowLonger(format: HLSConfiguration.Format, parts: Bool) throws {
        let short = Duration.nanoseconds(26_122_449)
        let long = Duration.milliseconds(72)
        let pattern = Array(repeating: short, count: parts ? 18 : 75) + [long]
        let durations = Array((0..<(parts ? 16 : 4)).map { _ in pattern }.joined())
        var blocks: [StreamBlock] = []
        var mediaTime = Duration.zero
        for (sequence, start) in stride(from: 0, to: durations.count, by: 10).enumerated() {
            var bytes = ByteBuffer()
            var frames: [FrameSpan] = []
            for (index, duration) in durations[start..<min(start + 10, durations.count)].enumerated() {
                frames.append(FrameSpan(offset: bytes.writerIndex, length: 104, mediaTime: mediaTime, duration: duration))
                bytes.writeBytes([0xFF, 0xFB, 0x90, 0x00] + Array(repeating: UInt8(truncatingIfNeeded: start + index), count: 100))
                mediaTime += duration
            }
            blocks.append(StreamBlock(sequence: sequence, bytes: bytes, metadata: .empty, frames: frames))
        }
        var configuration = HLSConfiguration(window: 40, partDuration: parts ? .milliseconds(500) : nil)
        configuration.format = format
        var segmenter = Self.segmented(blocks, configuration: configuration)
        segmenter.endOfStream()
        let target = configuration.partDuration ?? configuration.segmentDuration
        #expect(segmenter.segments.count >= 3)
        for segment in segmenter.segments {
            #expect(segment.duration <= configuration.segmentDuration, "segment \(segment.sequence)")
            #expect(segment.parts.count <= segmenter.maximumPartsPerSegment)
            for part in segment.parts {
                #expect(part.duration <= target, "part \(part.index) of segment \(segment.sequence)")
            }
        }
        let published = blocks.flatMap { Array($0.bytes.readableBytesView) }
        let relayed = format == .packed
            ? segmenter.segments.flatMap { $0.buffers.dropFirst().flatMap { Array($0.readableBytesView) } }
            : try TransportStreamReader.read(segmenter.segments.flatMap { $0.buffers.flatMap { Array($0.readableBytesView) } }).audio
        #expect(relayed == published)
    }

    @Test func transportStreamCarriesExactlyTheFramesInOrderWithRunningContinuityCounters() throws {
        let blocks = Self.blocks()
        let segmenter = Self.segmented(blocks, configuration: HLSConfiguration(window: 10))
        var stream: [UInt8] = []
        for segment in segmenter.segments {
            for part in segment.parts { stream += Array(part.buffers[0].readableBytesView) }
        }
        for part in segmenter.openParts { stream += Array(part.buffers[0].readableBytesView) }
        let demuxed = try TransportStreamReader.read(stream)
        let published = blocks.flatMap { Array($0.bytes.readableBytesView) }
        // Every frame so far, from the first, except those of the part still being gathered.
        #expect(!demuxed.audio.isEmpty)
        #expect(Array(published.prefix(demuxed.audio.count)) == demuxed.audio)
        #expect(demuxed.audio.count > published.count - 19 * 418)
        // PTS of successive PES packets grow by the play time of the frames between them.
        let frameTicks = 1152.0 * 90_000 / 44_100
        for (previous, next) in zip(demuxed.audioPES, demuxed.audioPES.dropFirst()) {
            let frames = Double(previous.payloadBytes) / (Double(published.count) / Double(MPEGFrameSynchronizer.frames(in: Self.mp3).count))
            #expect(abs(Double(next.pts - previous.pts) - frames * frameTicks) < frameTicks, "PTS step from \(previous.pts) to \(next.pts)")
        }
        #expect(demuxed.audioPES.first?.pts == 90_000)
    }

    @Test func eachSegmentStartsWithTheTitleAndATitleChangeIsTimedAtItsFrame() throws {
        let blocks = Self.blocks(title: "Floe Tester - Sine at 440", titleFrom: 5)
        let segmenter = Self.segmented(blocks)
        let first = try TransportStreamReader.read(segmenter.segments[0].parts.flatMap { Array($0.buffers[0].readableBytesView) })
        let second = try TransportStreamReader.read(segmenter.segments[1].parts.flatMap { Array($0.buffers[0].readableBytesView) })
        // Block 5 starts at 2.5 s: inside segment 1, after its start.
        #expect(first.metadata.count == 1)
        #expect(String(decoding: first.metadata[0].payload, as: UTF8.self).contains("StreamTitle"))
        #expect(second.metadata.count == 2)
        let change = second.metadata[1]
        let text = String(decoding: change.payload, as: UTF8.self)
        #expect(text.hasPrefix("ID3"))
        #expect(text.contains("Sine at 440") && text.contains("Floe Tester") && text.contains("StreamTitle"))
        #expect(change.pts == 90_000 + HLSTests.ticks(blocks[5].frames[0].mediaTime))
        let tagged = try #require(second.audioPES.first { $0.pts == change.pts })
        #expect(tagged.pts > second.metadata[0].pts)
    }

    @Test func playlistListsTheWindowWithPartsAndAPreloadHint() throws {
        let segmenter = Self.segmented(Self.blocks(), configuration: HLSConfiguration(window: 3))
        let names = HLSNames(mount: "/radio/live", streamID: "k3x")
        let playlist = HLSPlaylist.render(segmenter, names: names)
        let lines = playlist.split(separator: "\n").map(String.init)
        #expect(lines.first == "#EXTM3U")
        #expect(lines.contains("#EXT-X-TARGETDURATION:2"))
        #expect(segmenter.segments.count == 6)
        // Three segments of whole frames last 5.96 s, less than three target durations: a fourth is listed.
        #expect(lines.contains("#EXT-X-MEDIA-SEQUENCE:2"))
        #expect(lines.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0"))
        #expect(lines.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500"))
        #expect(lines.contains("#EXT-X-PART-INF:PART-TARGET=0.500"))
        #expect(lines.filter { $0.hasPrefix("#EXTINF:") }.count == 4)
        #expect(lines.contains("live.hls/k3x-5.ts"))
        #expect(lines.contains("live.hls/k3x-2.ts") && !lines.contains("live.hls/k3x-1.ts"))
        #expect(lines.contains("#EXT-X-PART:DURATION=0.49633,URI=\"live.hls/k3x-5.3.ts\",INDEPENDENT=YES"))
        #expect(lines.last == "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"live.hls/k3x-6.\(segmenter.openParts.count).ts\"")
        #expect(lines.filter { $0.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:0") }.count == 1)
        #expect(!playlist.contains("ENDLIST"))

        let plain = Self.segmented(Self.blocks(), configuration: HLSConfiguration(partDuration: nil))
        let plainText = HLSPlaylist.render(plain, names: names)
        #expect(!plainText.contains("EXT-X-PART") && !plainText.contains("PRELOAD") && !plainText.contains("SERVER-CONTROL"))
    }

    @Test func aChangeOfSourceIsADiscontinuityAndTheSequenceRunsOn() throws {
        let blocks = Self.blocks()
        var segmenter = HLSSegmenter(configuration: HLSConfiguration(window: 3))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for block in blocks.prefix(6) { segmenter.append(block, at: start) }
        segmenter.endOfStream()
        let beforeGap = segmenter.segments.count
        // The next source starts its media time at zero again.
        for block in blocks { segmenter.append(block, at: start.addingTimeInterval(60)) }
        let resumed = try #require(segmenter.segments.first { $0.discontinuity })
        #expect(resumed.sequence == beforeGap)
        #expect(resumed.programDateTime > start.addingTimeInterval(50))
        let playlist = HLSPlaylist.render(segmenter, names: HLSNames(mount: "/live", streamID: "a"))
        #expect(segmenter.segments.last!.sequence == beforeGap + 5)
        // The window (3) has moved past the discontinuity: it is counted in the discontinuity sequence.
        #expect(playlist.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1"))
        #expect(!playlist.contains("#EXT-X-DISCONTINUITY\n"))
        // While the segment after the change is the window's first, its tag is there and not yet counted.
        var early = HLSSegmenter(configuration: HLSConfiguration(window: 3))
        for block in blocks.prefix(6) { early.append(block, at: start) }
        early.endOfStream()
        var fed = 0
        while early.windowSegments.first?.discontinuity != true, fed < blocks.count {
            early.append(blocks[fed], at: start.addingTimeInterval(60))
            fed += 1
        }
        #expect(early.windowSegments.first?.discontinuity == true, "the window never began with the change")
        let earlyPlaylist = HLSPlaylist.render(early, names: HLSNames(mount: "/live", streamID: "a"))
        #expect(earlyPlaylist.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME"))
        // Timestamps run on across the change.
        let all = try TransportStreamReader.read(segmenter.segments.flatMap { $0.parts.flatMap { Array($0.buffers[0].readableBytesView) } })
        #expect(zip(all.audioPES, all.audioPES.dropFirst()).allSatisfy { $0.pts < $1.pts })
    }

    @Test func blockingRequestsAreSatisfiedByFinishedSegmentsAndParts() {
        let segmenter = Self.segmented(Array(Self.blocks().prefix(5)))
        // 2.5 s: segment 0 finished, segment 1 has one part.
        #expect(segmenter.satisfies(segment: 0, part: nil))
        #expect(segmenter.satisfies(segment: 0, part: 7))
        #expect(segmenter.satisfies(segment: 1, part: 0))
        #expect(!segmenter.satisfies(segment: 1, part: 1))
        #expect(!segmenter.satisfies(segment: 1, part: nil))
        #expect(!segmenter.satisfies(segment: 2, part: 0))
        #expect(segmenter.part(segment: 1, index: 0) != nil)
        #expect(segmenter.part(segment: 0, index: 3) != nil)
        #expect(segmenter.part(segment: 0, index: 4) == nil)
    }

    @Test(arguments: [
        ("/live.m3u8", HLSResource.playlist(mount: "/live")),
        ("/radio/a b.mp3.m3u8", .playlist(mount: "/radio/a b.mp3")),
        ("/live.hls/k3x-45.ts", .segment(mount: "/live", streamID: "k3x", sequence: 45, fileExtension: "ts")),
        ("/live.hls/k3x-45.2.ts", .part(mount: "/live", streamID: "k3x", sequence: 45, index: 2, fileExtension: "ts")),
        ("/live.hls/k3x-45.mp3", .segment(mount: "/live", streamID: "k3x", sequence: 45, fileExtension: "mp3")),
        ("/live.hls/k3x-45.1.aac", .part(mount: "/live", streamID: "k3x", sequence: 45, index: 1, fileExtension: "aac")),
    ] as [(String, HLSResource)])
    func resourceNamesParse(path: String, expected: HLSResource) {
        #expect(HLSResource(path: path) == expected)
    }

    @Test(arguments: [
        "/.m3u8", "/live.hls/../etc/passwd", "/live.hls/k3x-1.ts/..", "/live.hls/k3x--1.ts", "/live.hls/k3x-1.2.3.ts",
        "/live.hls/-1.ts", "/live.hls/k3x-99999999999999999999.ts", "/live.hls/k.x-1.ts", "/live.hls/k3x-1.m4a", "/live.hls/k3x-1.ts.mp3",
        "/live/k3x-1.ts", "/.hls/k3x-1.ts", "/live.hls/k3x-+1.ts", "live.m3u8",
    ])
    func badResourceNamesNameNothing(path: String) {
        #expect(HLSResource(path: path) == nil)
    }

    @Test func packedAudioPartsAreATimestampTagAndSlicesOfThePublishedFrames() throws {
        let blocks = Self.blocks(title: "Floe Tester - Packed", titleFrom: 0)
        var configuration = HLSConfiguration(window: 10)
        configuration.format = .packed
        let segmenter = Self.segmented(blocks, configuration: configuration)
        let published = blocks.flatMap { Array($0.bytes.readableBytesView) }
        var offset = 0
        for segment in segmenter.segments {
            // A segment: its own tag, then its parts' frames, one run of the published bytes.
            let tag = ID3Tag.Parsed(segment.buffers[0])
            #expect(tag?.privateTimestamp == (segment.sequence == 0 ? 90_000 : tag?.privateTimestamp))
            #expect(tag?.text.contains("Floe Tester") == true)
            let frames = segment.buffers.dropFirst().flatMap { Array($0.readableBytesView) }
            #expect(Array(published[offset..<(offset + frames.count)]) == frames)
            for part in segment.parts {
                let partFrames = part.buffers.dropFirst().flatMap { Array($0.readableBytesView) }
                #expect(Array(published[offset..<(offset + partFrames.count)]) == partFrames)
                // Runs of a block: a 19-frame part spans at most two of them.
                #expect(part.buffers.count <= 3)
                offset += partFrames.count
            }
        }
        // Slices share the blocks' storage: nothing was copied.
        let first = segmenter.segments[0].buffers[1]
        let sameStorage = first.withUnsafeReadableBytes { part in
            blocks[0].bytes.withUnsafeReadableBytes { block in part.baseAddress == block.baseAddress }
        }
        #expect(sameStorage)
        let playlist = HLSPlaylist.render(segmenter, names: HLSNames(mount: "/live", streamID: "a"))
        let last = segmenter.segments.last!.sequence
        #expect(playlist.contains("live.hls/a-1.mp3") && playlist.contains("live.hls/a-\(last).2.mp3"))
    }

    /// ADTS frames as the mount would publish them: 1024 samples at 44.1 kHz each, zero payloads of varying size.
    static func aacBlocks(seconds: Int) -> [StreamBlock] {
        var stream: [UInt8] = []
        for index in 0..<(seconds * 44_100 / 1024) {
            let length: Int = 300 + index % 40
            let high = UInt8(0x80 | length >> 11)
            let middle = UInt8((length >> 3) & 0xFF)
            let low = UInt8((length & 0x07) << 5 | 0x1F)
            let header: [UInt8] = [0xFF, 0xF1, 0x50, high, middle, low, 0xFC]
            stream += header
            stream += [UInt8](repeating: 0, count: length - 7)
        }
        var ingest = SourceIngest(format: .aac)
        let outputs = ingest.receive(ByteBuffer(bytes: stream), at: .uptimeNanoseconds(0)) + ingest.finish(at: .uptimeNanoseconds(0))
        return outputs.enumerated().map { StreamBlock(sequence: $0, bytes: $1.bytes, metadata: .empty, frames: $1.frames) }
    }

    @Test func aacIsMuxedAsADTSStreamTypeAndPackedAsAAC() throws {
        let blocks = Self.aacBlocks(seconds: 8)
        let frames = blocks.flatMap(\.frames)
        #expect(frames.allSatisfy { $0.duration == .nanoseconds(1024 * 1_000_000_000 / 44_100) })
        let segmenter = Self.segmented(blocks, configuration: HLSConfiguration(window: 10))
        var first: [UInt8] = []
        for buffer in segmenter.segments[0].buffers { first += Array(buffer.readableBytesView) }
        // The PMT lists PID 0x100 as stream type 0x0F (ADTS AAC).
        var pmtListsADTS = false
        for start in stride(from: 0, to: first.count, by: 188) where first[start + 1] & 0x1F == 0x10 && first[start + 2] == 0 {
            let packet = Array(first[start..<(start + 188)])
            for index in 0..<(188 - 3) where packet[index] == 0x0F && packet[index + 1] == 0xE1 && packet[index + 2] == 0x00 {
                pmtListsADTS = true
            }
        }
        #expect(pmtListsADTS)
        var all: [UInt8] = []
        for segment in segmenter.segments { for buffer in segment.buffers { all += Array(buffer.readableBytesView) } }
        let demuxed = try TransportStreamReader.read(all)
        let published = blocks.flatMap { Array($0.bytes.readableBytesView) }
        #expect(Array(published.prefix(demuxed.audio.count)) == demuxed.audio)
        #expect(segmenter.segments.allSatisfy { $0.fileExtension == "ts" })

        var packed = HLSConfiguration(window: 10)
        packed.format = .packed
        let packedSegmenter = Self.segmented(blocks, configuration: packed)
        #expect(packedSegmenter.segments.allSatisfy { $0.fileExtension == "aac" && $0.parts.allSatisfy { $0.fileExtension == "aac" } })
        let playlist = HLSPlaylist.render(packedSegmenter, names: HLSNames(mount: "/radio", streamID: "q"))
        let last = packedSegmenter.segments.last!.sequence
        #expect(playlist.contains("radio.hls/q-0.aac") && playlist.contains("radio.hls/q-\(last).1.aac"))
        #expect(playlist.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"radio.hls/q-\(packedSegmenter.nextPart.segment).\(packedSegmenter.nextPart.index).aac\""))
        // A packed segment is its tag, then the frames exactly as published.
        let segment = packedSegmenter.segments[1]
        let body = segment.buffers.dropFirst().flatMap { Array($0.readableBytesView) }
        let offset = packedSegmenter.segments[0].buffers.dropFirst().reduce(0) { $0 + $1.readableBytes }
        #expect(Array(published[offset..<(offset + body.count)]) == body)
        #expect(HLSNames.contentType(fileExtension: segment.fileExtension) == "audio/aac")
    }

    @Test func namesArePercentEncodedRelativeURIs() {
        let names = HLSNames(mount: "/radio/a b.mp3", streamID: "z9")
        #expect(names.segment(3) == "a%20b.mp3.hls/z9-3.ts")
        #expect(names.part(3, 1) == "a%20b.mp3.hls/z9-3.1.ts")
    }

    static func ticks(_ duration: Duration) -> Int64 {
        (duration.nanoseconds * 9 + 50_000) / 100_000
    }
}

/// A minimal transport stream reader for the tests: checks packet framing, continuity counters and section CRCs,
/// and collects the PES packets of the audio and metadata streams.
enum TransportStreamReader {
    struct PES {
        var pts: Int64
        var payloadBytes: Int
        var payload: [UInt8]
    }

    struct Result {
        var audio: [UInt8] = []
        var audioPES: [PES] = []
        var metadata: [PES] = []
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ stream: [UInt8]) throws -> Result {
        guard stream.count % 188 == 0 else { throw Failure(description: "length \(stream.count) is not whole packets") }
        var continuity: [Int: Int] = [:]
        var open: [Int: [UInt8]] = [:]
        var result = Result()
        func close(_ pid: Int) throws {
            guard let bytes = open[pid] else { return }
            open[pid] = nil
            guard bytes.count >= 14, bytes[0] == 0, bytes[1] == 0, bytes[2] == 1 else { throw Failure(description: "bad PES start") }
            let headerLength = Int(bytes[8])
            let p = bytes[9...13].map { Int64($0) }
            let pts = ((p[0] >> 1) & 0x07) << 30 | p[1] << 22 | ((p[2] >> 1) & 0x7F) << 15 | p[3] << 7 | (p[4] >> 1)
            let declared = Int(bytes[4]) << 8 | Int(bytes[5])
            guard declared == 0 || declared == bytes.count - 6 else { throw Failure(description: "PES length \(declared) for \(bytes.count - 6)") }
            let payload = Array(bytes[(9 + headerLength)...])
            let pes = PES(pts: pts, payloadBytes: payload.count, payload: payload)
            if pid == 0x100 {
                guard bytes[3] == 0xC0 else { throw Failure(description: "audio stream id") }
                result.audio += payload
                result.audioPES.append(pes)
            } else {
                guard bytes[3] == 0xBD, bytes[6] & 0x04 != 0 else { throw Failure(description: "metadata PES flags") }
                result.metadata.append(pes)
            }
        }
        for start in stride(from: 0, to: stream.count, by: 188) {
            let packet = Array(stream[start..<(start + 188)])
            guard packet[0] == 0x47 else { throw Failure(description: "no sync byte at \(start)") }
            let pid = Int(packet[1] & 0x1F) << 8 | Int(packet[2])
            let unitStart = packet[1] & 0x40 != 0
            let control = (packet[3] >> 4) & 0x03
            let counter = Int(packet[3] & 0x0F)
            if let previous = continuity[pid], (previous + 1) & 0x0F != counter {
                throw Failure(description: "continuity on PID \(pid) at \(start): \(previous) then \(counter)")
            }
            continuity[pid] = counter
            var offset = 4
            if control & 0x02 != 0 { offset += 1 + Int(packet[4]) }
            let payload = Array(packet[offset...])
            switch pid {
            case 0x0000, 0x1000:
                let pointer = Int(payload[0])
                let section = Array(payload[(1 + pointer)...])
                let length = Int(section[1] & 0x0F) << 8 | Int(section[2])
                // The CRC over a section including its own CRC is zero.
                var crc: UInt32 = 0xFFFF_FFFF
                for byte in section[..<(3 + length)] {
                    crc ^= UInt32(byte) << 24
                    for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
                }
                guard crc == 0 else { throw Failure(description: "section CRC on PID \(pid)") }
            case 0x0100, 0x0101:
                if unitStart { try close(pid); open[pid] = payload } else { open[pid, default: []] += payload }
            default:
                throw Failure(description: "unexpected PID \(pid)")
            }
        }
        try close(0x100)
        try close(0x101)
        return result
    }
}

extension ID3Tag {
    /// Just enough of an ID3v2.4 reader for the tests: the PRIV timestamp and the text of the frames.
    struct Parsed {
        var privateTimestamp: Int64?
        var text = ""

        init?(_ buffer: ByteBuffer) {
            let bytes = Array(buffer.readableBytesView)
            guard bytes.count >= 10, bytes[0...2] == [0x49, 0x44, 0x33] else { return nil }
            var offset = 10
            while offset + 10 <= bytes.count {
                let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
                let size = bytes[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 7 | Int($1) }
                let body = Array(bytes[(offset + 10)..<(offset + 10 + size)])
                if id == "PRIV", let zero = body.firstIndex(of: 0) {
                    privateTimestamp = body[(zero + 1)...].reduce(Int64(0)) { $0 << 8 | Int64($1) }
                } else {
                    text += String(decoding: body.dropFirst(), as: UTF8.self) + "\n"
                }
                offset += 10 + size
            }
        }
    }
}
