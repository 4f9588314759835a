import FloeCore
import Testing

@Suite("Source headers to listener headers")
struct SourceDescriptorTests {
    @Test func iceHeadersBecomeIcyHeadersInIcecastOrder() {
        let descriptor = SourceDescriptor(
            contentType: "audio/mpeg",
            headers: [
                ("ice-name", "My Stream"), ("ice-description", "Desc here"), ("ice-genre", "Rock"),
                ("ice-url", "http://example.org/"), ("ice-public", "1"),
                ("ice-audio-info", "ice-samplerate=44100;ice-bitrate=128;ice-channels=2"),
                ("X-Custom", "dropped"), ("Authorization", "Basic secret"), ("ice-password", "secret"),
            ],
            peerAddress: "127.0.0.1"
        )
        #expect(
            descriptor.listenerHeaderLines(overrides: MountConfiguration()) == [
                "icy-br:128",
                "ice-audio-info: ice-samplerate=44100;ice-bitrate=128;ice-channels=2",
                "icy-description:Desc here",
                "icy-genre:Rock",
                "icy-name:My Stream",
                "icy-pub:1",
                "icy-url:http://example.org/",
            ]
        )
    }

    @Test func mountSettingsOverrideAndBitrateIsNotRepeated() {
        let descriptor = SourceDescriptor(
            contentType: "audio/mpeg",
            headers: [("Ice-Name", "Source Name"), ("ice-bitrate", "96"), ("ice-audio-info", "bitrate=96")],
            peerAddress: "127.0.0.1"
        )
        let lines = descriptor.listenerHeaderLines(overrides: MountConfiguration(streamName: "Configured"))
        #expect(lines == ["ice-audio-info: bitrate=96", "icy-br:96", "icy-name:Configured"])
    }

    @Test func lineBreaksCannotInjectHeaders() {
        let descriptor = SourceDescriptor(
            contentType: "audio/mpeg",
            headers: [("ice-name", "Evil\r\nSet-Cookie: x")],
            peerAddress: "127.0.0.1"
        )
        #expect(descriptor.listenerHeaderLines(overrides: MountConfiguration()) == ["icy-name:EvilSet-Cookie: x"])
    }

    @Test func credentialsAreNotKept() {
        let descriptor = SourceDescriptor(
            contentType: "audio/mpeg\r\nX-Evil: 1",
            headers: [("Authorization", "Basic c291cmNlOmhhY2ttZQ=="), ("ice-password", "hackme"), ("ice-name", "N")],
            peerAddress: "127.0.0.1"
        )
        #expect(descriptor.headers.map(\.name) == ["ice-name"])
        #expect(descriptor.contentType == "audio/mpegX-Evil: 1")
    }
}
