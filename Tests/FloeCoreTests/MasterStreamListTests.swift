import FloeCore
import Testing

@Suite("Master stream list")
struct MasterStreamListTests {
    @Test func pathsAreOnTheMasterAndURLsAreTakenAsGiven() {
        let body = "/live\r\n\r\n/jazz.mp3\r\nhttp://other.example:8000/news\r\nhttps://u:p@secure.example/talk\r\n"
        let relays = MasterStreamList.relays(from: body, master: "http://master.example:8001", onDemand: true)
        #expect(relays.map(\.localMount) == ["/live", "/jazz.mp3", "/news", "/talk"])
        #expect(relays.map(\.upstreams[0].url) == [
            "http://master.example:8001/live", "http://master.example:8001/jazz.mp3",
            "http://other.example:8000/news", "https://u:p@secure.example/talk",
        ])
        #expect(relays.allSatisfy { $0.onDemand && $0.relayMetadata })
    }

    @Test func garbageAndRepeatsAreSkipped() {
        let body = "<html>\nftp://x.example/a\n/\n/ok\n/ok\nhttp://no-path.example\n  /spaced  \n"
        let relays = MasterStreamList.relays(from: body, master: "http://m:1", onDemand: false)
        #expect(relays.map(\.localMount) == ["/ok", "/spaced"])
    }

    /// A master names paths here: none that a configuration could not name as a mount, and none of the server's
    /// own endpoints (found by a probe: `/../../etc/passwd`, `/x?y=1` and `/status-json.xsl` became relays).
    @Test func pathsNoMountCouldHaveOrThatAreTheServersOwnAreSkipped() {
        let body = [
            "/../../etc/passwd", "//twice", "/x?y=1", "/frag#x", "/tab\tin", "/ctl\u{01}", "/admin/stats", "/admin",
            "/admin.cgi", "/ADMIN/listmounts", "/status-json.xsl", "/status.xsl", "/metrics", "/live.sdp",
            "http://other.example/metrics", "/fine", "/radio/ok.mp3",
        ].joined(separator: "\n")
        let relays = MasterStreamList.relays(from: body, master: "http://m:1", onDemand: false)
        #expect(relays.map(\.localMount) == ["/fine", "/radio/ok.mp3"])
    }
}
