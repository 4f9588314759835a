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
}
