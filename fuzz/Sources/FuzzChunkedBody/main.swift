import FloeCore
import NIOCore

/// A chunked source body in pieces of any size (byte 0): decoding never hands on more bytes than came in.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunkedBody(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let piece = Int(input[0]) + 1
    var decoder = ChunkedBodyDecoder()
    var offset = 1
    var body = 0
    while offset < count {
        let end = min(offset + piece, count)
        guard let (parts, finished) = try? decoder.decode(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: input[offset..<end]))) else {
            return 0
        }
        body += parts.reduce(0) { $0 + $1.readableBytes }
        offset = end
        if finished { break }
    }
    precondition(body <= count, "more body than input")
    return 0
}
