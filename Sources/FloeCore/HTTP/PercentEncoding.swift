/// Percent-encoding for text written into a URL (RFC 3986 §2.1): the unreserved characters as they are, every other
/// byte of the UTF-8 as `%XX`.
///
/// Mount names come from sources and from request paths; written raw into a playlist, a line break in one is a
/// second entry (`/radio%0D%0Ahttp://elsewhere/` made `.m3u` list another server's stream), and a space makes the
/// URL invalid.
public enum PercentEncoding {
    /// `path` with each segment encoded and its slashes kept.
    public static func encodingPath(_ path: String) -> String {
        encoding(path, keepingSlashes: true)
    }

    /// `text` with everything but unreserved characters encoded: a user name or password in a URL's user info.
    public static func encoding(_ text: String) -> String {
        encoding(text, keepingSlashes: false)
    }

    private static func encoding(_ text: String, keepingSlashes: Bool) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if (keepingSlashes && byte == UInt8(ascii: "/")) || isUnreserved(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%"
                encoded.unicodeScalars.append(hexDigit(byte >> 4))
                encoded.unicodeScalars.append(hexDigit(byte & 0x0F))
            }
        }
        return encoded
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ value: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10)
    }
}
