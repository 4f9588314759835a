import FloeCore
import Testing

@Suite("Listener authentication files")
struct AuthTests {
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func md5MatchesRFC1321(input: String, digest: String) {
        #expect(MD5.hex(Array(input.utf8)) == digest)
    }

    @Test func htpasswdVerifiesIcecastLines() {
        let file = HTPasswd(contents: "alice:\(MD5.hex(Array("wonder".utf8)))\n\nbroken line\nbob:XYZ\n")
        #expect(file.verify(user: "alice", password: "wonder"))
        #expect(!file.verify(user: "alice", password: "wonderland"))
        #expect(!file.verify(user: "carol", password: "wonder"))
        #expect(HTPasswd.line(user: "u", password: "abc") == "u:900150983cd24fb0d6963f7d28e17f72")
    }
}
