import FloeCore
import NIOCore

/// Request heads as any client could send them: parsed, and every value a responder reads taken from them.
private let trustedProxies = AddressList(["127.0.0.0/8", "10.0.0.0/8", "2001:db8::/32", "192.168.*"].compactMap(AddressPattern.init))

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
    // Behind trusted proxies the client's address comes from these heads: it is the peer or a real address.
    let client = ForwardedClientAddress.resolve(peer: "127.0.0.1", head: head, trustedProxies: trustedProxies)
    precondition(client == "127.0.0.1" || IPAddress(client) != nil)
    if let pattern = AddressPattern(head.path), let address = IPAddress(client) {
        _ = pattern.matches(address)
    }
    _ = XMLText.escape(head.uri)
    _ = SourceDescriptor(contentType: head["content-type"], headers: head.headers, peerAddress: "fuzz")
    if let song = head.queryItems.first?.value, let update = MetadataUpdate(song: song, artist: nil, title: nil, charset: head.queryValue("charset")) {
        _ = ICYMetadata(version: 1, title: update.title)
    }
    return 0
}
