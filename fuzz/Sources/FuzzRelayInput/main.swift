import FloeCore
import NIOCore

/// What an upstream or a master sends a relay: byte 0 picks an ICY stream (bytes 1–2 the `icy-metaint`, byte 3
/// the piece size; the rest arrives in pieces) or a master's stream list (the rest as text). The de-interleaver
/// never hands on more audio than came in; every relay a stream list yields serves a mount path from an http(s)
/// upstream.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRelayInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 4 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    if input[0] % 2 == 0 {
        let interval = (Int(input[1]) << 8 | Int(input[2])) + 1
        let piece = Int(input[3]) + 1
        var deinterleaver = ICYDeinterleaver(interval: interval)
        var audio = 0
        var offset = 4
        while offset < count {
            let end = min(offset + piece, count)
            for part in deinterleaver.receive(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: input[offset..<end]))) {
                if case .audio(let bytes) = part { audio += bytes.readableBytes }
            }
            offset = end
        }
        precondition(audio <= count - 4, "more audio than input")
    } else {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: input[1...]), as: UTF8.self)
        for relay in MasterStreamList.relays(from: text, master: "http://master.example:8000", onDemand: false) {
            precondition(relay.localMount.hasPrefix("/") && relay.localMount.count > 1, "a relay without a mount path")
            precondition(relay.upstreams.allSatisfy { $0.url.lowercased().hasPrefix("http") }, "a non-http upstream")
        }
    }
    return 0
}
