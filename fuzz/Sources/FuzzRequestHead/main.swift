import FloeCore
import NIOCore

/// Request heads as any client could send them: parsed, and every value a responder reads taken from them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    guard case .head(let head, let length) = RequestHeadParser().parse(bytes) else { return 0 }
    precondition(length <= count)
    _ = head.path
    _ = head.queryItems
    _ = head.queryValue("mount")
    _ = head["authorization"].flatMap(BasicCredentials.init(authorizationHeader:))
    _ = HostHeader.validated(head["host"])
    _ = XMLText.escape(head.uri)
    _ = SourceDescriptor(contentType: head["content-type"], headers: head.headers, peerAddress: "fuzz")
    if let song = head.queryItems.first?.value, let update = MetadataUpdate(song: song, artist: nil, title: nil, charset: head.queryValue("charset")) {
        _ = ICYMetadata(version: 1, title: update.title)
    }
    return 0
}
