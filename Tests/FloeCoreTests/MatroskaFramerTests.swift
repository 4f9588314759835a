import FloeCore
import NIOCore
import Testing

@Suite("WebM framing")
struct MatroskaFramerTests {
    /// An element with a 4-byte-or-shorter ID and an 8-byte size (or unknown size for `nil` body length).
    static func element(_ id: UInt32, _ body: [UInt8], unknownSize: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        for shift in stride(from: 24, through: 0, by: -8) where id >> UInt32(shift) != 0 || shift == 0 {
            bytes.append(UInt8(truncatingIfNeeded: id >> UInt32(shift)))
        }
        if unknownSize { return bytes + [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + body }
        bytes.append(0x01)
        for shift in stride(from: 48, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: body.count >> shift)) }
        return bytes + body
    }

    /// A SimpleBlock on `track` (1, the video track, unless told) with the keyframe flag or not.
    static func simpleBlock(keyframe: Bool, track: UInt8 = 1, size: Int = 40) -> [UInt8] {
        element(MatroskaID.simpleBlock, [0x80 | track, 0x00, 0x00, keyframe ? 0x80 : 0x00] + [UInt8](repeating: 0x55, count: size))
    }

    static func cluster(keyframe: Bool, blocks: Int = 3, unknownSize: Bool = false, timecode: UInt16 = 0x10) -> [UInt8] {
        let timecode = element(0xE7, [UInt8(timecode >> 8), UInt8(timecode & 0xFF)])
        var body = timecode + simpleBlock(keyframe: keyframe)
        for _ in 1..<blocks { body += simpleBlock(keyframe: false) }
        return element(MatroskaID.cluster, body, unknownSize: unknownSize)
    }

    static let ebmlHeader = element(MatroskaID.ebml, [0x42, 0x82, 0x84] + Array("webm".utf8))
    static let info = element(MatroskaID.info, [0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40])
    /// Track 1 is video (TrackType 1), track 2 audio (TrackType 2).
    static let tracks = element(MatroskaID.tracks, [0xAE, 0x86, 0xD7, 0x81, 0x01, 0x83, 0x81, 0x01, 0xAE, 0x86, 0xD7, 0x81, 0x02, 0x83, 0x81, 0x02])

    /// A whole stream: header elements, a SeekHead and Void to drop, then `clusters`.
    static func stream(_ clusters: [[UInt8]], segmentSizeKnown: Bool = true) -> (bytes: [UInt8], header: [UInt8]) {
        let children = element(MatroskaID.seekHead, [0x4D, 0xBB, 0x80]) + element(MatroskaID.void, [0, 0]) + info + tracks
            + clusters.flatMap { $0 }
        let segment = element(MatroskaID.segment, children, unknownSize: !segmentSizeKnown)
        return (ebmlHeader + segment, ebmlHeader + MatroskaFramer.unknownSizeSegment + info + tracks)
    }

    /// The ingest's blocks for `bytes`, fed in pieces of `chunk`; `passthroughBlockBytes: 1` makes every block due
    /// at once.
    static func ingest(_ bytes: [UInt8], chunk: Int) -> (outputs: [SourceIngest.Output], ingest: SourceIngest) {
        var ingest = SourceIngest(format: .webm, passthroughBlockBytes: 1)
        var outputs: [SourceIngest.Output] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            outputs += ingest.receive(ByteBuffer(bytes: bytes[offset..<end]), at: .uptimeNanoseconds(0))
            offset = end
        }
        outputs += ingest.finish(at: .uptimeNanoseconds(0))
        return (outputs, ingest)
    }

    @Test(arguments: [1, 7, 100, 100_000])
    func theHeaderIsSetAsideAndBlocksStartAtClusters(chunk: Int) throws {
        let clusters = [Self.cluster(keyframe: true), Self.cluster(keyframe: false), Self.cluster(keyframe: true, unknownSize: true),
                        Self.cluster(keyframe: true)]
        for segmentSizeKnown in [true, false] {
            let (bytes, header) = Self.stream(clusters, segmentSizeKnown: segmentSizeKnown)
            let (outputs, _) = Self.ingest(bytes, chunk: chunk)
            let first = try #require(outputs.first)
            #expect(first.streamHeader.map { Array($0.bytes.readableBytesView) } == header)
            // Everything after the header is relayed, in order, and nothing else.
            #expect(outputs.flatMap { Array($0.bytes.readableBytesView) } == clusters.flatMap { $0 })
            // Blocks go out as soon as they are due (here: at once), in the middle of clusters too; those that
            // open with a keyframe cluster say so, and only those.
            var offset = 0
            var joinPoints: [Int] = []
            for output in outputs {
                if output.isJoinPoint { joinPoints.append(offset) }
                offset += output.bytes.readableBytes
            }
            #expect(joinPoints == [0, clusters[0].count + clusters[1].count, clusters[0].count + clusters[1].count + clusters[2].count])
        }
    }

    @Test func audioBeforeTheVideoBlockDoesNotMakeAClusterJoinable() {
        let audioFirst = { (videoKey: Bool) in
            Self.element(MatroskaID.cluster, Self.element(0xE7, [0x10]) + Self.simpleBlock(keyframe: true, track: 2)
                + Self.simpleBlock(keyframe: videoKey))
        }
        let clusters = [Self.cluster(keyframe: true), audioFirst(false), audioFirst(true)]
        let (outputs, _) = Self.ingest(Self.stream(clusters).bytes, chunk: 10_000)
        var offset = 0
        var joinPoints: [Int] = []
        for output in outputs {
            if output.isJoinPoint { joinPoints.append(offset) }
            offset += output.bytes.readableBytes
        }
        #expect(joinPoints == [0, clusters[0].count + clusters[1].count])
    }

    @Test func aSecondStreamGoesInBandWithItsOwnHeader() throws {
        let (first, _) = Self.stream([Self.cluster(keyframe: true)])
        let (second, secondHeader) = Self.stream([Self.cluster(keyframe: true, blocks: 2)])
        let (outputs, _) = Self.ingest(first + second, chunk: 64)
        let start = try #require(outputs.firstIndex { $0.beginsWithHeader })
        #expect(outputs[start].streamHeader?.id == 2)
        #expect(outputs[start].isJoinPoint)
        #expect(outputs[start...].flatMap { Array($0.bytes.readableBytesView) } == secondHeader + Self.cluster(keyframe: true, blocks: 2))
        #expect(outputs[..<start].flatMap { Array($0.bytes.readableBytesView) } == Self.cluster(keyframe: true))
    }

    @Test func absurdSizesAndGarbageLoseSyncAndItIsFoundAgain() {
        let good = Self.cluster(keyframe: true)
        // A cluster claiming 2^50 bytes, then an impossible length marker: skipped up to the next cluster.
        let absurd: [UInt8] = [0x1F, 0x43, 0xB6, 0x75, 0x01, 0x04, 0, 0, 0, 0, 0, 0] + [0x00, 0x00, 0x12]
        let tracksTooBig = Self.element(MatroskaID.tags, [UInt8](repeating: 0, count: MatroskaFramer.maximumHeaderElement + 1))
        let (bytes, _) = Self.stream([good])
        let (outputs, ingest) = Self.ingest(bytes + absurd + good, chunk: 1000)
        #expect(outputs.flatMap { Array($0.bytes.readableBytesView) } == good + good)
        #expect(ingest.framing.garbageBytes == absurd.count)
        #expect(ingest.framing.resyncs == 1)
        // A header element over the limit is no header: the clusters after it are still found.
        let oversized = Self.ebmlHeader + Self.element(MatroskaID.segment, tracksTooBig + good, unknownSize: true)
        let (afterOversized, _) = Self.ingest(oversized, chunk: 4096)
        #expect(afterOversized.flatMap { Array($0.bytes.readableBytesView) } == good)
    }

    /// A source cannot grow the stream header every listener is sent (found by review, confirmed with the fuzz
    /// harness, whose inputs were too short to find it): an EBML header of 400,000 bytes is no header, and a
    /// Segment ID repeated 30,000 times before the first cluster adds one Segment to the header, not 30,000.
    @Test func theStreamHeaderStaysBoundedWhateverTheSourceRepeats() throws {
        let good = Self.cluster(keyframe: true)
        let hugeEBML = Self.element(MatroskaID.ebml, [UInt8](repeating: 0, count: 400_000))
        let (afterHuge, _) = Self.ingest(hugeEBML + MatroskaFramer.unknownSizeSegment + Self.tracks + good, chunk: 4096)
        #expect(afterHuge.allSatisfy { ($0.streamHeader?.bytes.readableBytes ?? 0) <= SourceIngest.maximumBlockBytes })
        #expect(afterHuge.flatMap { Array($0.bytes.readableBytesView) } == good)

        let segmentID: [UInt8] = [0x18, 0x53, 0x80, 0x67, 0x80]
        let repeated = Self.ebmlHeader + Array([[UInt8]](repeating: segmentID, count: 30_000).joined()) + Self.tracks + good
        let (outputs, _) = Self.ingest(repeated, chunk: 4096)
        let header = try #require(outputs.first?.streamHeader)
        #expect(Array(header.bytes.readableBytesView) == Self.ebmlHeader + MatroskaFramer.unknownSizeSegment + Self.tracks)
        #expect(outputs.flatMap { Array($0.bytes.readableBytesView) } == good)
    }

    /// Each cluster's Timecode step, in ticks of Info's TimestampScale, is play time credited to the block being
    /// gathered when the next cluster starts; a step back (an encoder restarted) counts nothing, and counting goes on from there.
    @Test(arguments: [1, 13, 100_000])
    func clusterTimecodesGiveBlocksTheirPlayTime(chunk: Int) {
        let timecodes: [UInt16] = [0, 500, 1000, 1500, 200, 700]
        let clusters = timecodes.map { Self.cluster(keyframe: true, timecode: $0) }
        let (outputs, _) = Self.ingest(Self.stream(clusters).bytes, chunk: chunk)
        let total = outputs.compactMap(\.mediaDuration).reduce(Duration.zero, +)
        #expect(total == .milliseconds(2000))
        // Untimed until the first step is read (the first cluster's time shows at the second's start), then timed.
        #expect(outputs.first?.mediaDuration == nil && outputs.last?.mediaDuration != nil)
        // In ticks of 0.1 ms (TimestampScale 100,000): 5,000 ticks are half a second.
        let tenths = Self.element(MatroskaID.info, [0x2A, 0xD7, 0xB1, 0x83, 0x01, 0x86, 0xA0])
        let segment = Self.element(MatroskaID.segment, tenths + Self.tracks + Self.cluster(keyframe: true, timecode: 0)
            + Self.cluster(keyframe: true, timecode: 5000))
        let (scaled, _) = Self.ingest(Self.ebmlHeader + segment, chunk: chunk)
        #expect(scaled.compactMap(\.mediaDuration).reduce(Duration.zero, +) == .milliseconds(500))
        // Audio only: a cluster's start is no reason to wait for its first block, but its Timecode is waited for.
        let audioTracks = Self.element(MatroskaID.tracks, [0xAE, 0x86, 0xD7, 0x81, 0x02, 0x83, 0x81, 0x02])
        let audio = Self.element(MatroskaID.segment, Self.info + audioTracks + clusters.flatMap { $0 })
        let (audioOutputs, _) = Self.ingest(Self.ebmlHeader + audio, chunk: chunk)
        #expect(audioOutputs.compactMap(\.mediaDuration).reduce(Duration.zero, +) == .milliseconds(2000))
    }
}
