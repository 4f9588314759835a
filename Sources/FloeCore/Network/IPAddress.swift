import Foundation

/// An IPv4 or IPv6 address, as its 4 or 16 bytes in network order.
///
/// Parsed from the text forms a socket, a proxy header or a configuration file gives: dotted IPv4 (`192.0.2.7`,
/// exactly four decimal parts, no leading zeros), and IPv6 with `::` compression, an embedded IPv4 tail
/// (`::ffff:192.0.2.7`) and an optional zone (`fe80::1%eth0`, ignored). Nothing else parses: no host names, no
/// ports, no brackets (callers strip those, as the header syntax in use says).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    public init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if let zone = text.firstIndex(of: "%") {
            text = text[..<zone]
        }
        if let v4 = Self.parseIPv4(text) {
            bytes = v4
        } else if let v6 = Self.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// An IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a dual-stack socket reports for an IPv4 peer) as the
    /// IPv4 address it stands for; any other address unchanged. Rules and lists compare unmapped addresses, so an
    /// IPv4 rule applies whichever way the socket was bound.
    public var unmapped: IPAddress {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else {
            return self
        }
        return IPAddress(bytes: Array(bytes[12...]))
    }

    /// Dotted decimal for IPv4; for IPv6 the RFC 5952 form (lower-case hex, the longest run of two or more zero
    /// groups as `::`).
    public var description: String {
        if isIPv4 {
            return bytes.map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8, groups[index] == 0 { index += 1 }
            if index - start > best.length { best = (start, index - start) }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard best.length >= 2 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let value = UInt8(part)
            else { return nil }
            result.append(value)
        }
        return result
    }

    private static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":"), text.utf8.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        guard let head = groups(Substring(halves[0]), allowIPv4Tail: halves.count == 1) else { return nil }
        var result = head
        if halves.count == 2 {
            guard let tail = groups(Substring(halves[1]), allowIPv4Tail: true), head.count + tail.count <= 14 else {
                return nil
            }
            result += [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
        }
        return result.count == 16 ? result : nil
    }

    /// The bytes of colon-separated hex groups (empty text: none), the last of which may be dotted IPv4.
    private static func groups(_ text: Substring, allowIPv4Tail: Bool) -> [UInt8]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var result: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1, allowIPv4Tail, part.contains(".") {
                guard let v4 = parseIPv4(part) else { return nil }
                result += v4
            } else {
                guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit), let value = UInt16(part, radix: 16) else {
                    return nil
                }
                result += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
        }
        return result
    }
}
