import Testing

@testable import FloeCore

/// Icecast's `ssl-allowed-ciphers` as Floe reads it: suite names honoured in order, everything else warned about.
@Suite("TLS cipher list")
struct TLSCipherListTests {
    @Test func suiteNamesAreHonouredInOrder() {
        let list = TLSCipherList("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256")
        #expect(list.codePoints == [0xC030, 0xC02F])
        #expect(list.warning == nil)
    }

    @Test func suitesTheLibraryLacksAreDroppedByName() {
        let list = TLSCipherList("ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:RC4-SHA")
        #expect(list.codePoints == [0xC02F])
        #expect(list.warning == "not offered by Floe's TLS library, dropped: DHE-RSA-AES128-GCM-SHA256, RC4-SHA")
    }

    /// Icecast's documented default is written in OpenSSL's rule language, which Floe does not evaluate.
    @Test func ruleListsKeepTheDefaults() {
        let list = TLSCipherList("ECDH+AESGCM:DH+AESGCM:ECDH+AES256:!aNULL:!MD5:!DSS")
        #expect(list.codePoints.isEmpty)
        #expect(list.warning?.contains("ECDH+AESGCM, DH+AESGCM, ECDH+AES256, !aNULL, !MD5, !DSS") == true)
        #expect(TLSCipherList("HIGH").codePoints.isEmpty)
    }

    @Test func aListWithNothingOfferedKeepsTheDefaults() {
        let list = TLSCipherList("DHE-RSA-AES256-SHA")
        #expect(list.codePoints.isEmpty)
        #expect(list.warning?.contains("no cipher suite") == true)
    }
}
