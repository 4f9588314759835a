import Foundation

/// A user name and password from an `Authorization: Basic …` header.
public struct BasicCredentials: Sendable, Equatable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Parses `Basic <base64(user:password)>`; `nil` for any other scheme or a malformed value.
    public init?(authorizationHeader: String) {
        let parts = authorizationHeader.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Self.decodeBase64(String(parts[1].trimmingSpaces()))
        else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        self.user = String(text[..<colon])
        self.password = String(text[text.index(after: colon)...])
    }

    /// The header value a client sends for these credentials.
    public var authorizationHeader: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Standard base64 (RFC 4648 §4) through Foundation; padding optional on input, as some clients leave it out.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        let padded = text + String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        return Data(base64Encoded: padded).map(Array.init)
    }

    /// Compares in time independent of where the strings first differ, so a password cannot be guessed
    /// byte by byte from response timing.
    public func matches(user expectedUser: String, password expectedPassword: String) -> Bool {
        // Both comparisons always run: no short-circuit on a wrong user name.
        let userMatches = Self.constantTimeEquals(user, expectedUser)
        let passwordMatches = Self.constantTimeEquals(password, expectedPassword)
        return userMatches && passwordMatches
    }

    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        // Lengths that differ never match (truncating their difference to a byte once let a password padded with
        // 256 NUL bytes through).
        var difference: UInt8 = left.count == right.count ? 0 : 1
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
