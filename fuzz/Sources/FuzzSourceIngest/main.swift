import FloeCore
import NIOCore

/// A source's bytes through framing (MP3 sync, ID3 skipping, Ogg pages) and the frame clock, in pieces of any
/// size: byte 0 picks the format, byte 1 the piece size. Every block handed on must hold whole frames.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSourceIngest(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let format: StreamFormat = input[0] % 3 == 0 ? .mpeg : input[0] % 3 == 1 ? .ogg : .passthrough(allowsICYMetadata: true)
    let piece = Int(input[1]) + 1
    var ingest = SourceIngest(format: format, blockDuration: .milliseconds(100))
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var offset = 2
    var outputs: [SourceIngest.Output] = []
    while offset < count {
        let end = min(offset + piece, count)
        outputs += ingest.receive(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: input[offset..<end])), at: now)
        offset = end
        now = now + .milliseconds(10)
    }
    outputs += ingest.finish(at: now)
    for output in outputs {
        for frame in output.frames {
            precondition(frame.offset >= 0 && frame.offset + frame.length <= output.bytes.readableBytes, "a frame outside its block")
        }
    }
    return 0
}
