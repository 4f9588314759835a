import FloeCore
import NIOCore

/// A source's bytes through framing (MP3 and ADTS sync, ID3 skipping, Ogg pages and their tags, WebM elements)
/// and the frame clock, in pieces of any size: byte 0 picks the format, byte 1 the piece size. Every block handed
/// on must hold whole frames, and what Ogg and WebM set aside as a header must be bounded.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSourceIngest(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let formats: [StreamFormat] = [.mpeg, .ogg, .passthrough(allowsICYMetadata: true), .aac, .webm]
    let format = formats[Int(input[0]) % formats.count]
    let piece = Int(input[1]) + 1
    var ingest = SourceIngest(format: format, blockDuration: .milliseconds(100))
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    // One buffer, read in slices of it: the pieces share its storage, as a connection's reads would not, but
    // this keeps the harness's own allocations out of the fuzzer's time.
    let all = ByteBuffer(bytes: input)
    var offset = 2
    var outputs: [SourceIngest.Output] = []
    while offset < count {
        let end = min(offset + piece, count)
        outputs += ingest.receive(all.getSlice(at: offset, length: end - offset)!, at: now)
        offset = end
        now = now + .milliseconds(10)
    }
    outputs += ingest.finish(at: now)
    for output in outputs {
        for frame in output.frames {
            precondition(frame.offset >= 0 && frame.offset + frame.length <= output.bytes.readableBytes, "a frame outside its block")
        }
        if let header = output.streamHeader {
            precondition(header.bytes.readableBytes <= SourceIngest.maximumBlockBytes + 65_536, "an unbounded stream header")
        }
        if output.beginsWithHeader {
            precondition(output.streamHeader != nil, "a block begins with a header it does not carry")
        }
    }
    return 0
}
