import FloeCore
import NIOCore
import Testing

@Suite("Request heads")
struct RequestHeadParserTests {
    let parser = RequestHeadParser()

    @Test(arguments: ["\r\n\r\n", "\n\n", "\r\r\n\r\r\n"])
    func headEndsAtAnyIcecastTerminatorAndKeepsTheBytesAfterIt(terminator: String) throws {
        let text = "SOURCE /live ICE/1.0\(terminator.hasPrefix("\r\r") ? "\r\r\n" : terminator == "\n\n" ? "\n" : "\r\n")"
            + "Content-Type: audio/mpeg" + terminator + "AUDIO"
        let buffer = ByteBuffer(string: text)
        guard case .head(let head, let length) = parser.parse(buffer) else {
            Issue.record("no head in \(text.debugDescription)")
            return
        }
        #expect(head.method == "SOURCE")
        #expect(head.protocolName == "ICE")
        #expect(head["content-type"] == "audio/mpeg")
        #expect(String(decoding: Array(text.utf8)[length...], as: UTF8.self) == "AUDIO")
    }

    @Test func incompleteHeadAsksForMore() {
        #expect(parser.parse(ByteBuffer(string: "GET /live HTTP/1.0\r\nHost: x\r\n")) == .needMoreData)
    }

    @Test func oversizedHeadIsRefused() {
        let big = "GET / HTTP/1.0\r\nX-Big: " + String(repeating: "a", count: 20_000)
        #expect(parser.parse(ByteBuffer(string: big)) == .failure(.headTooLarge))
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", RequestHeadParser.Failure.malformedRequestLine),
        ("GET /x FOO/1.0\r\n\r\n", .unsupportedProtocol),
        ("GET /x HTTP/1.0\r\nno colon here\r\n\r\n", .malformedHeader),
        // A bare CR is no line end and is not kept (RFC 9112 §2.2): it went into a redirect's Location (found by
        // a probe). Nor is any other control character in the request line, or a NUL in a value.
        ("GET /full?\rX-Injected:\tyes HTTP/1.1\r\nHost: h\r\n\r\n", .malformedRequestLine),
        ("GET /a\u{1}b HTTP/1.1\r\n\r\n", .malformedRequestLine),
        ("GET /x HTTP/1.1\r\nHost: h\rX-Injected: yes\r\n\r\n", .malformedHeader),
        ("GET /x HTTP/1.1\r\nHost: h\u{0}x\r\n\r\n", .malformedHeader),
    ])
    func malformedHeadsAreRefused(text: String, failure: RequestHeadParser.Failure) {
        #expect(parser.parse(ByteBuffer(string: text)) == .failure(failure))
    }

    @Test func pathDropsQueryAndQueryIsDecoded() throws {
        guard case .head(let head, _) = parser.parse(
            ByteBuffer(string: "GET /admin/metadata?mount=%2flive&song=It%27s+%C3%A9t%C3%A9 HTTP/1.1\r\n\r\n")
        ) else {
            Issue.record("no head")
            return
        }
        #expect(head.path == "/admin/metadata")
        #expect(head.queryValue("mount") == "/live")
        #expect(head.queryValue("song") == "It's été")
    }

    @Test func basicCredentialsRoundTrip() throws {
        let credentials = try #require(BasicCredentials(authorizationHeader: "Basic c291cmNlOmhhY2ttZQ=="))
        #expect(credentials == BasicCredentials(user: "source", password: "hackme"))
        #expect(credentials.matches(user: "source", password: "hackme"))
        #expect(!credentials.matches(user: "source", password: "hackm"))
        // Lengths 256 apart once compared equal when the rest was NUL bytes (found by a probe from outside).
        for padding in [1, 256, 512] {
            let padded = BasicCredentials(user: "source", password: "hackme" + String(repeating: "\u{0}", count: padding))
            #expect(!padded.matches(user: "source", password: "hackme"), "hackme and \(padding) NUL bytes")
            #expect(!BasicCredentials(user: "source", password: "hackme").matches(user: "source", password: padded.password))
        }
        #expect(BasicCredentials(user: "a", password: "b:c").authorizationHeader == "Basic YTpiOmM=")
        #expect(BasicCredentials(authorizationHeader: "Bearer abc") == nil)
    }

    @Test func pathIsPercentDecodedButPlusStaysPlus() {
        #expect(RequestHead(method: "GET", uri: "/live%2Emp3?x=1").path == "/live.mp3")
        #expect(RequestHead(method: "GET", uri: "/a+b").path == "/a+b")
    }

    @Test func resumedSearchFindsTheSameHeadAsAFullOne() {
        let text = "GET /x HTTP/1.0\r\nHost: a\r\n\r\nrest"
        var buffer = ByteBuffer()
        var result = RequestHeadParser.Result.needMoreData
        for byte in text.utf8 {
            let searched = buffer.readableBytes
            buffer.writeInteger(byte)
            result = parser.parse(buffer, searchedBytes: searched)
            if case .head = result { break }
        }
        #expect(result == parser.parse(ByteBuffer(string: "GET /x HTTP/1.0\r\nHost: a\r\n\r\n")))
    }
}

@Suite("Host header")
struct HostHeaderTests {
    @Test(arguments: ["radio.example.org", "radio.example.org:8000", "127.0.0.1:80", "[::1]", "[2001:db8::1]:8443", "localhost"])
    func hostsAreKept(_ value: String) {
        #expect(HostHeader.validated(value) == value)
    }

    @Test(arguments: [
        "", "evil.example\r\nX-Injected: 1", "a b", "\"><script>", "host/path", "host:", "host:99999", "host:8o",
        "-bad.example", "[::1", "[::1]x", "[zz::1]", "user@host", "host..example",
    ])
    func nonHostsAreRefused(_ value: String) {
        #expect(HostHeader.validated(value) == nil)
    }

    @Test func authorityAddsThePortOrFallsBackToTheConfiguredHost() {
        #expect(HostHeader.authority("radio.example", defaultHost: "h", defaultPort: 8000) == "radio.example:8000")
        #expect(HostHeader.authority("[::1]", defaultHost: "h", defaultPort: 8000) == "[::1]:8000")
        #expect(HostHeader.authority("[::1]:9", defaultHost: "h", defaultPort: 8000) == "[::1]:9")
        #expect(HostHeader.authority("<b>", defaultHost: "h", defaultPort: 8000) == "h:8000")
        #expect(HostHeader.authority(nil, defaultHost: "h", defaultPort: 8000) == "h:8000")
    }
}
