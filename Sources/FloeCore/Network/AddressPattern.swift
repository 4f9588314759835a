import Foundation

/// One entry of an address list: trusted proxies, `allow-ip` and `deny-ip`.
///
/// Three forms: an address (`192.0.2.7`, `2001:db8::1`), a network in CIDR notation (`10.0.0.0/8`,
/// `2001:db8::/32`; host bits are ignored), and Icecast's wildcards on the address text (`192.168.1.*`,
/// `10.0.?.1`). Addresses are compared unmapped, so `::ffff:10.1.2.3` is inside `10.0.0.0/8`.
public enum AddressPattern: Hashable, Sendable, CustomStringConvertible {
    case network(IPAddress, prefixLength: Int)
    /// `*` matches any run of characters, `?` any one character.
    case wildcard(String)

    /// `nil` when `text` is none of the three forms.
    public init?(_ text: some StringProtocol) {
        let text = String(text).trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.contains("*") || text.contains("?") {
            guard text.allSatisfy({ $0.isHexDigit || ":.*?".contains($0) }) else { return nil }
            self = .wildcard(text.lowercased())
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0])?.unmapped else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]), (0...bits).contains(length)
            else { return nil }
            self = .network(address, prefixLength: length)
        } else {
            self = .network(address, prefixLength: bits)
        }
    }

    public func matches(_ address: IPAddress) -> Bool {
        let address = address.unmapped
        switch self {
        case .network(let network, let prefixLength):
            guard network.bytes.count == address.bytes.count else { return false }
            var remaining = prefixLength
            for (a, b) in zip(network.bytes, address.bytes) where remaining > 0 {
                let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
                if a & mask != b & mask { return false }
                remaining -= 8
            }
            return true
        case .wildcard(let pattern):
            return Self.glob(Array(pattern.utf8)[...], Array(address.description.utf8)[...])
        }
    }

    public var description: String {
        switch self {
        case .network(let address, let prefixLength):
            prefixLength == address.bytes.count * 8 ? "\(address)" : "\(address)/\(prefixLength)"
        case .wildcard(let pattern):
            pattern
        }
    }

    /// `*` and `?` matching, iterative with one backtrack point (linear in practice, never exponential).
    private static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var star: (pattern: Int, text: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = (p, t)
                p += 1
            } else if let last = star {
                p = last.pattern + 1
                t = last.text + 1
                star = (last.pattern, last.text + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}

/// A list of patterns; an address is in it when any pattern matches.
public struct AddressList: Hashable, Sendable {
    public var patterns: [AddressPattern]

    public init(_ patterns: [AddressPattern] = []) {
        self.patterns = patterns
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether `address` (text, as a socket or header gives it) matches an entry; text that is not an address
    /// matches nothing.
    public func contains(_ address: String) -> Bool {
        guard !patterns.isEmpty, let parsed = IPAddress(address) else { return false }
        return contains(parsed)
    }

    public func contains(_ address: IPAddress) -> Bool {
        patterns.contains { $0.matches(address) }
    }
}

extension AddressList {
    /// The entries of an address file (Icecast's `allow-ip` and `deny-ip`): one per line; blank lines and lines
    /// starting with `#` are skipped. Lines that are no pattern are returned apart, for the caller to report.
    public static func parsing(fileContents: String) -> (list: AddressList, rejected: [(line: Int, text: String)]) {
        var patterns: [AddressPattern] = []
        var rejected: [(line: Int, text: String)] = []
        for (index, line) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, !text.hasPrefix("#") else { continue }
            if let pattern = AddressPattern(text) {
                patterns.append(pattern)
            } else {
                rejected.append((index + 1, text))
            }
        }
        return (AddressList(patterns), rejected)
    }
}
