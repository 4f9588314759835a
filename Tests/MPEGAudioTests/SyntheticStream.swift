import MPEGAudio
import Testing

/// Builders for synthetic MPEG streams: real headers, zero-filled payloads (zeros can never start a header or a
/// tag, so the only sync points are the ones a test puts there).
enum SyntheticStream {
    /// A whole frame for the header `b`, payload filled with `fill`, with an optional ASCII `tag` at `tagOffset`.
    static func frame(_ b: [UInt8], tag: String? = nil, at tagOffset: Int = 0, fill: UInt8 = 0) throws -> [UInt8] {
        let header = try #require(MPEGFrameHeader(b[0], b[1], b[2], b[3]))
        var bytes = b + [UInt8](repeating: fill, count: header.frameLength - 4)
        if let tag {
            bytes.replaceSubrange(tagOffset..<tagOffset + 4, with: Array(tag.utf8))
        }
        return bytes
    }

    /// `count` frames alternating between a few headers of one MPEG-1 Layer III 44.1 kHz stereo stream, as a
    /// VBR encoder would write them (different bitrates, padding, stereo and joint stereo).
    static func mp3Frames(_ count: Int) throws -> [[UInt8]] {
        let headers: [[UInt8]] = [
            [0xFF, 0xFB, 0x90, 0x64],  // 128k, 417 bytes
            [0xFF, 0xFB, 0x92, 0x64],  // 128k padded, 418
            [0xFF, 0xFB, 0xB0, 0x04],  // 192k stereo, 626
            [0xFF, 0xFB, 0x50, 0x44],  // 64k, 208
            [0xFF, 0xFA, 0xE2, 0x64],  // 320k padded with CRC, 1045
        ]
        return try (0..<count).map { try frame(headers[$0 % headers.count]) }
    }

    /// An ID3v2.4 tag with a `bodySize`-byte body, optionally followed by a footer.
    ///
    /// The body is filled with valid MPEG headers so a synchroniser that looked inside the tag would find
    /// "frames" there: the tag must be skipped whole.
    static func id3Tag(bodySize: Int, footer: Bool) -> [UInt8] {
        let syncsafe: [UInt8] = [21, 14, 7, 0].map { UInt8((bodySize >> $0) & 0x7F) }
        let header: [UInt8] = [0x49, 0x44, 0x33, 0x04, 0x00, footer ? 0x10 : 0x00] + syncsafe
        let pattern: [UInt8] = [0xFF, 0xFB, 0x90, 0x64]
        let body = (0..<bodySize).map { pattern[$0 % 4] }
        let trailer: [UInt8] = footer ? [0x33, 0x44, 0x49, 0x04, 0x00, 0x10] + syncsafe : []
        return header + body + trailer
    }

    /// Text garbage: no 0xFF byte, and "ID3" nowhere, though it has capital I's to stop a naive scan.
    static func garbage(_ count: Int) -> [UInt8] {
        let text = Array("Icecast says: It Is not an MP3 frame. ".utf8)
        return (0..<count).map { text[$0 % text.count] }
    }
}

/// A frame as the driver saw it: where it started in the whole stream, how long it was, what it carried.
struct RecordedFrame: Hashable, Sendable, CustomStringConvertible {
    var offset: Int
    var length: Int
    var kind: MPEGFrameKind

    var description: String { "\(kind)@\(offset)+\(length)" }
}

/// What feeding a whole stream produced.
struct FeedOutcome: Hashable, Sendable {
    var frames: [RecordedFrame]
    var statistics: MPEGFrameSynchronizer.Statistics
    /// Bytes still pending after the final `.needMoreData` at end of stream.
    var leftover: Int
    var isSynchronized: Bool
}

/// The smallest correct caller: keeps a pending `[UInt8]`, appends each chunk, steps until `.needMoreData` and
/// drops exactly the bytes each step names, checking the synchroniser's side of the contract as it goes.
enum SynchronizerDriver {
    static func feed(_ stream: [UInt8], chunkSize: Int) -> FeedOutcome {
        var synchronizer = MPEGFrameSynchronizer()
        var pending: [UInt8] = []
        var consumed = 0
        var frames: [RecordedFrame] = []

        func drain(isEndOfStream: Bool) {
            while true {
                let step = synchronizer.step(pending, isEndOfStream: isEndOfStream)
                switch step {
                case .frame(let frame):
                    #expect(frame.length <= pending.count, "a partial frame was reported")
                    frames.append(RecordedFrame(offset: consumed, length: frame.length, kind: frame.kind))
                    pending.removeFirst(frame.length)
                    consumed += frame.length
                case .skip(let count, _):
                    #expect(count >= 1 && count <= pending.count, "skip count out of range")
                    pending.removeFirst(count)
                    consumed += count
                case .needMoreData:
                    #expect(pending.count < MPEGFrameSynchronizer.maximumBytesNeeded, "unbounded buffering")
                    return
                }
            }
        }

        var start = 0
        while start < stream.count {
            let end = start + min(chunkSize, stream.count - start)
            pending.append(contentsOf: stream[start..<end])
            drain(isEndOfStream: false)
            start = end
        }
        drain(isEndOfStream: true)
        return FeedOutcome(
            frames: frames,
            statistics: synchronizer.statistics,
            leftover: pending.count,
            isSynchronized: synchronizer.isSynchronized
        )
    }

    /// Feeds `stream` byte by byte, in a few odd chunk sizes and all at once; every way must agree.
    static func feedAllWays(_ stream: [UInt8]) -> FeedOutcome {
        let bulk = feed(stream, chunkSize: Int.max)
        for chunkSize in [1, 3, 100, 1000] {
            #expect(feed(stream, chunkSize: chunkSize) == bulk, "chunk size \(chunkSize) disagrees with bulk")
        }
        return bulk
    }

    /// The frames a stream made of `parts` must yield when the parts at `frameIndices` are its frames.
    static func expectedFrames(
        _ parts: [[UInt8]],
        frameIndices: Set<Int>,
        kinds: [Int: MPEGFrameKind] = [:]
    ) -> [RecordedFrame] {
        var offset = 0
        var result: [RecordedFrame] = []
        for (index, part) in parts.enumerated() {
            if frameIndices.contains(index) {
                result.append(RecordedFrame(offset: offset, length: part.count, kind: kinds[index] ?? .audio))
            }
            offset += part.count
        }
        return result
    }
}
