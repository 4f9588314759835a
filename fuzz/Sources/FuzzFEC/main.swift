import FloeFEC

/// FEC datagrams as a network could deliver them: the input is cut into packets (each preceded by a length
/// byte), parsed, and fed to the receiver's assembler, which must never crash whatever arrives.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFEC(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    var assembler = FECGroupAssembler()
    var offset = 0
    while offset < input.count {
        let length = Int(input[offset]) * 8
        offset += 1
        let end = min(offset + length, input.count)
        if let packet = try? FECPacket(parsing: Array(input[offset..<end])) {
            _ = assembler.receive(packet)
            _ = packet.serialized()
        }
        offset = end
    }
    _ = assembler.flush()
    return 0
}
