import FloeCore
import Testing

@Suite("Client addresses: IP parsing, address lists, forwarded headers")
struct ClientAddressTests {
    @Test func addressesParseInTheirUsualForms() {
        #expect(IPAddress("192.0.2.7")?.bytes == [192, 0, 2, 7])
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("2001:0DB8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPAddress("::")?.description == "::")
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("fe80::1%eth0")?.description == "fe80::1")
        #expect(IPAddress("1:0:0:2:0:0:0:3")?.description == "1:0:0:2::3")
        #expect(IPAddress("::ffff:192.0.2.7")?.unmapped.description == "192.0.2.7")
        #expect(IPAddress("2001:db8::1")?.unmapped.description == "2001:db8::1")
        for bad in ["", "192.0.2", "192.0.2.256", "192.0.02.7", "1.2.3.4.5", "example.org", "1::2::3", ":::",
            "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8:9", "[::1]", "192.0.2.7:80", " 192.0.2.7", "unknown"]
        {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func patternsMatchAddressesRangesAndWildcards() throws {
        let list = AddressList(["192.0.2.7", "10.0.0.0/8", "2001:db8::/32", "172.16.5.*", "198.51.100.1?"].compactMap(AddressPattern.init))
        #expect(list.patterns.count == 5)
        for inside in ["192.0.2.7", "10.255.1.2", "::ffff:10.1.2.3", "2001:db8:ffff::9", "172.16.5.200", "198.51.100.15"] {
            #expect(list.contains(inside), "\(inside)")
        }
        for outside in ["192.0.2.8", "11.0.0.1", "2001:db9::1", "172.16.50.1", "198.51.100.1", "198.51.100.150", "nonsense", "-"] {
            #expect(!list.contains(outside), "\(outside)")
        }
        #expect(AddressPattern("10.1.2.3/8")?.matches(IPAddress("10.9.9.9")!) == true)
        #expect(AddressPattern("0.0.0.0/0")?.matches(IPAddress("203.0.113.1")!) == true)
        #expect(AddressPattern("0.0.0.0/0")?.matches(IPAddress("2001:db8::1")!) == false)
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "host.example", "10.0.0.0/8/8", "1.2.3.*/8", "*; rm"] {
            #expect(AddressPattern(bad) == nil, "\(bad)")
        }
    }

    @Test func addressFilesSkipCommentsAndReportBadLines() {
        let (list, rejected) = AddressList.parsing(fileContents: "# banned\n192.0.2.7\n\n  10.0.0.0/8  \nnot-an-ip\r\n")
        #expect(list.patterns.map(\.description) == ["192.0.2.7", "10.0.0.0/8"])
        #expect(rejected.map(\.line) == [5])
        #expect(rejected.map(\.text) == ["not-an-ip"])
    }

    private let proxies = AddressList(["127.0.0.1", "10.0.0.0/8"].compactMap(AddressPattern.init))

    private func resolve(_ peer: String, _ headers: [(String, String)], header: ForwardedClientAddress.Header = .xForwardedFor) -> String {
        ForwardedClientAddress.resolve(
            peer: peer,
            head: RequestHead(method: "GET", uri: "/live", headers: headers.map { (name: $0.0, value: $0.1) }),
            trustedProxies: proxies,
            header: header
        )
    }

    @Test func theRightMostUntrustedHopIsTheClient() {
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "203.0.113.9")]) == "203.0.113.9")
        // The client claimed 1.2.3.4 itself; the trusted proxies appended what they saw.
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "1.2.3.4, 203.0.113.9, 10.0.0.5")]) == "203.0.113.9")
        // Every line counts, in order.
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "1.2.3.4"), ("x-forwarded-for", "198.51.100.2")]) == "198.51.100.2")
        // All hops trusted: the left-most is as far as anyone can tell.
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "10.0.0.1, 10.0.0.2")]) == "10.0.0.1")
        // Ports and brackets as some proxies write them.
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "203.0.113.9:51234")]) == "203.0.113.9")
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "[2001:db8::7]:443")]) == "2001:db8::7")
    }

    /// With proxies that write `Forwarded`, its syntax is read and `X-Forwarded-For` is ignored.
    @Test func forwardedIsReadWhenTheProxiesWriteIt() {
        func forwarded(_ headers: [(String, String)]) -> String { resolve("127.0.0.1", headers, header: .forwarded) }
        #expect(forwarded([("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")]) == "192.0.2.60")
        #expect(forwarded([("Forwarded", "for=\"[2001:db8:cafe::17]:4711\"")]) == "2001:db8:cafe::17")
        #expect(forwarded([("Forwarded", "for=1.1.1.1, For=\"192.0.2.43:47011\""), ("X-Forwarded-For", "9.9.9.9")]) == "192.0.2.43")
        #expect(forwarded([("X-Forwarded-For", "9.9.9.9")]) == "127.0.0.1")
        // A hop with no address ends the walk at the proxy that passed it on.
        #expect(forwarded([("Forwarded", "for=unknown")]) == "127.0.0.1")
        #expect(forwarded([("Forwarded", "for=_hidden, for=10.0.0.3")]) == "10.0.0.3")
        #expect(resolve("127.0.0.1", [("X-Forwarded-For", "203.0.113.9, <script>")]) == "127.0.0.1")
    }

    /// nginx appends to `X-Forwarded-For` and passes a client's own `Forwarded` on untouched: by default that one
    /// is ignored, or any client could name its own address.
    @Test func theHeaderTheProxiesDoNotWriteIsIgnored() {
        #expect(resolve("127.0.0.1", [("Forwarded", "for=198.51.100.1"), ("X-Forwarded-For", "203.0.113.9")]) == "203.0.113.9")
        #expect(resolve("127.0.0.1", [("Forwarded", "for=198.51.100.1")]) == "127.0.0.1")
    }

    @Test func headersFromUntrustedPeersAreIgnored() {
        #expect(resolve("198.51.100.7", [("X-Forwarded-For", "127.0.0.1")]) == "198.51.100.7")
        #expect(resolve("198.51.100.7", [("Forwarded", "for=10.0.0.1")]) == "198.51.100.7")
        #expect(resolve("127.0.0.1", []) == "127.0.0.1")
        #expect(
            ForwardedClientAddress.resolve(
                peer: "127.0.0.1",
                head: RequestHead(method: "GET", uri: "/", headers: [(name: "X-Forwarded-For", value: "203.0.113.9")]),
                trustedProxies: AddressList()
            ) == "127.0.0.1"
        )
    }
}
