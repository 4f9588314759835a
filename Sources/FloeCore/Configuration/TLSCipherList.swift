/// An OpenSSL-style cipher list (Icecast's `ssl-allowed-ciphers`, Floe's `tls.ciphers`) read as the TLS 1.2
/// suites Floe's TLS library offers.
///
/// Floe honours a list of suite names (`ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384`), in the given
/// order. It does not evaluate OpenSSL's rule language (`HIGH:!aNULL`, `ECDH+AESGCM`, `DEFAULT`): a list with such
/// rules is ignored as a whole, with a warning, and the modern defaults stay. Names the library lacks (`DHE-…`,
/// `RC4-…`) are dropped with a warning naming them; a list left with no suite is ignored the same way. TLS 1.3
/// suites are not configurable and are always offered.
public struct TLSCipherList: Sendable, Equatable {
    /// IANA code points of the suites to offer, in order; empty means the defaults.
    public var codePoints: [UInt16]
    /// What the operator should know: names dropped, or why the whole list was ignored.
    public var warning: String?

    public init(_ text: String) {
        let names = text.split(whereSeparator: { $0 == ":" || $0 == "," || $0 == " " }).map(String.init)
        let rules = names.filter { name in
            name.first.map { "!+-@".contains($0) } == true || name.contains("+")
                || Self.keywords.contains(name.uppercased())
        }
        if !rules.isEmpty {
            codePoints = []
            warning = "OpenSSL cipher rules (\(rules.joined(separator: ", "))) are not evaluated; list suites by name "
                + "(e.g. ECDHE-RSA-AES128-GCM-SHA256) or leave it unset; using the modern defaults"
            return
        }
        codePoints = names.compactMap { Self.suites[$0] }
        let unknown = names.filter { Self.suites[$0] == nil }
        if codePoints.isEmpty {
            warning = "no cipher suite in the list is offered by Floe's TLS library; using the modern defaults"
        } else if !unknown.isEmpty {
            warning = "not offered by Floe's TLS library, dropped: \(unknown.joined(separator: ", "))"
        } else {
            warning = nil
        }
    }

    /// OpenSSL's names of the TLS 1.2 suites BoringSSL offers, with their IANA code points.
    static let suites: [String: UInt16] = [
        "ECDHE-ECDSA-AES128-GCM-SHA256": 0xC02B,
        "ECDHE-RSA-AES128-GCM-SHA256": 0xC02F,
        "ECDHE-ECDSA-AES256-GCM-SHA384": 0xC02C,
        "ECDHE-RSA-AES256-GCM-SHA384": 0xC030,
        "ECDHE-ECDSA-CHACHA20-POLY1305": 0xCCA9,
        "ECDHE-RSA-CHACHA20-POLY1305": 0xCCA8,
        "ECDHE-ECDSA-AES128-SHA": 0xC009,
        "ECDHE-ECDSA-AES256-SHA": 0xC00A,
        "ECDHE-RSA-AES128-SHA": 0xC013,
        "ECDHE-RSA-AES256-SHA": 0xC014,
        "AES128-GCM-SHA256": 0x009C,
        "AES256-GCM-SHA384": 0x009D,
        "AES128-SHA": 0x002F,
        "AES256-SHA": 0x0035,
    ]

    /// OpenSSL's group keywords, which stand for sets of suites.
    static let keywords: Set<String> = [
        "ALL", "DEFAULT", "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL", "HIGH", "MEDIUM", "LOW", "EXPORT", "ECDH", "ECDHE",
        "EECDH", "DH", "DHE", "EDH", "RSA", "AES", "AESGCM", "AES128", "AES256", "CHACHA20", "SHA1", "SHA256", "SHA384",
        "ANULL", "ENULL", "NULL", "PSK", "SSLV3", "TLSV1", "TLSV1.2", "TLSV1.0", "FIPS", "SUITEB128", "SUITEB192",
    ]
}
