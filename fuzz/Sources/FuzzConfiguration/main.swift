import FloeCore

/// Configuration files as an operator might mistype them: byte 0 picks native YAML or icecast.xml. Loading either
/// succeeds or throws a `ConfigurationError`; nothing else may happen, and what loads renders as JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let loaded: LoadedConfiguration?
    if input[0] % 2 == 0 {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: input[1...]), as: UTF8.self)
        loaded = try? NativeConfigurationLoader().load(yaml: text, fileName: "fuzz.yaml")
    } else {
        // The file's bytes, as `floe --icecast-config` reads them: decoded as the declaration says.
        loaded = try? IcecastXMLConfigurationLoader().load(xmlData: Array(input[1...]), fileName: "fuzz.xml")
    }
    if let loaded { _ = loaded.configuration.effectiveJSON() }
    return 0
}
