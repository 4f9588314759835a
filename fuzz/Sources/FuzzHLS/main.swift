import FloeCore
import Foundation
import NIOCore

/// HLS: byte 0 even, the rest is a request path for `HLSResource` (what it names must name itself again through
/// `HLSNames`); odd, byte 1 picks the settings (parts or not, MPEG-TS or packed audio, a short window) and the
/// rest is a source's bytes, framed in pieces of byte 2's size, published as blocks and cut into segments, with a
/// change of source at every zero byte of the piece sizes. Every transport stream part is whole 188-byte packets;
/// parts stay within their target and segments within the playlist's target duration; sequence numbers run on; the playlist renders.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHLS(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 3 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    if input[0] % 2 == 0 {
        let path = String(decoding: UnsafeRawBufferPointer(rebasing: input[1...]), as: UTF8.self)
        guard let resource = HLSResource(path: path) else { return 0 }
        precondition(resource.mount.hasPrefix("/") && resource.mount.count > 1, "a resource without a mount")
        switch resource {
        case .playlist:
            break
        case .segment(let mount, let id, let sequence, let fileExtension):
            let names = HLSNames(mount: mount, streamID: id)
            let again = HLSResource(path: names.segment(sequence, fileExtension).replacingOccurrences(of: "%20", with: " "))
            precondition(again == nil || again == resource || mount.contains("%"), "a segment name that does not name itself")
        case .part(_, _, let sequence, let index, _):
            precondition(sequence >= 0 && index >= 0, "a negative number")
        }
        return 0
    }
    var configuration = HLSConfiguration(window: 3 + Int(input[1] % 4), partDuration: input[1] & 0x10 == 0 ? .milliseconds(500) : nil)
    if input[1] & 0x20 != 0 { configuration.format = .packed }
    if input[1] & 0x40 != 0 { configuration.segmentDuration = .milliseconds(600) }
    let piece = Int(input[2]) + 1
    var ingest = SourceIngest(format: .mpeg)
    var segmenter = HLSSegmenter(configuration: configuration)
    var sequence = 0
    var offset = 3
    var now = NIODeadline.uptimeNanoseconds(0)
    let all = ByteBuffer(bytes: input)
    while offset < count {
        let end = min(offset + piece, count)
        let blocks = ingest.receive(all.getSlice(at: offset, length: end - offset)!, at: now)
        for output in blocks {
            let block = StreamBlock(sequence: sequence, bytes: output.bytes, metadata: ICYMetadata(version: sequence / 3, title: "t\(sequence / 3)")!, frames: output.frames)
            sequence += 1
            segmenter.append(block, at: Date(timeIntervalSince1970: 1_800_000_000))
        }
        if input[offset] == 0 { segmenter.discontinuity() }
        offset = end
        now = now + .milliseconds(20)
    }
    segmenter.endOfStream()
    let partTarget = configuration.partDuration ?? configuration.segmentDuration
    var previous: Int?
    for segment in segmenter.segments {
        if let previous { precondition(segment.sequence == previous + 1, "sequence numbers skip") }
        previous = segment.sequence
        // RFC 8216: each EXTINF, rounded, is at most EXT-X-TARGETDURATION.
        precondition(Int(segment.duration.seconds.rounded()) <= configuration.targetDurationSeconds, "a segment beyond the target duration")
        for part in segment.parts {
            precondition(part.duration <= partTarget, "a part beyond its target")
            if configuration.format == .transportStream {
                let bytes = part.buffers[0]
                precondition(bytes.readableBytes % 188 == 0, "a part of broken packets")
                for packet in stride(from: 0, to: bytes.readableBytes, by: 188) {
                    precondition(bytes.getInteger(at: bytes.readerIndex + packet, as: UInt8.self) == 0x47, "a packet without its sync byte")
                }
            }
        }
    }
    _ = HLSPlaylist.render(segmenter, names: HLSNames(mount: "/live", streamID: "f"))
    return 0
}
