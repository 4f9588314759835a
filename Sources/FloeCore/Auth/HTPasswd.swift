/// Icecast's htpasswd listener file: one `user:md5hex(password)` per line (not Apache's crypt or apr1 formats).
public struct HTPasswd: Sendable, Equatable {
    /// Users and the MD5 hex of their passwords.
    public private(set) var users: [String: String]

    /// Parses a file; blank lines and lines without a colon are skipped.
    public init(contents: String) {
        var users: [String: String] = [:]
        for line in contents.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            users[String(line[..<colon])] = String(line[line.index(after: colon)...]).lowercased()
        }
        self.users = users
    }

    /// Whether `password` is `user`'s.
    public func verify(user: String, password: String) -> Bool {
        guard let stored = users[user] else { return false }
        return BasicCredentials(user: "", password: MD5.hex(Array(password.utf8)))
            .matches(user: "", password: stored)
    }

    /// The line for a user, as `/admin/manageauth` would write it.
    public static func line(user: String, password: String) -> String {
        "\(user):\(MD5.hex(Array(password.utf8)))"
    }
}
