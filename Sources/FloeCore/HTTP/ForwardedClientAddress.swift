import Foundation

/// The address a request really came from when it passed through reverse proxies or a CDN.
///
/// A proxy connects on the client's behalf and names the client in `Forwarded: for=…` (RFC 7239) or the older
/// `X-Forwarded-For: client, proxy1, proxy2`, each proxy appending the address it received the request from. Only
/// entries added by trusted proxies can be believed: the client may send either header itself with anything in
/// it. So the walk starts at the socket's peer and goes right to left, through the header's entries, for as long as
/// the address at hand is a trusted proxy; the first untrusted address is the client. A request whose socket peer is
/// not trusted keeps that peer, whatever it says. Only the header the proxies are configured to write is read
/// (`X-Forwarded-For` by default, as nginx, HAProxy and most CDNs write it): a proxy passes the other one on as
/// the client sent it, so reading it would let any client name its own address. Every line of the header counts,
/// in order. An entry that is not an address (`unknown`, an obfuscated name, garbage) ends the walk at the proxy
/// that passed it on.
public enum ForwardedClientAddress {
    /// Which header the trusted proxies write.
    public enum Header: String, Sendable, Equatable, CaseIterable {
        case xForwardedFor = "x-forwarded-for"
        /// RFC 7239 `Forwarded: for=…`.
        case forwarded
    }

    /// Entries past this many, counted from the right, are not looked at: no real chain of proxies is this long.
    public static let maximumHops = 32

    /// The client's address for a request received from `peer` with `head`.
    public static func resolve(
        peer: String,
        head: RequestHead,
        trustedProxies: AddressList,
        header: Header = .xForwardedFor
    ) -> String {
        guard !trustedProxies.isEmpty, let peerAddress = IPAddress(peer), trustedProxies.contains(peerAddress) else {
            return peer
        }
        var client = peer
        for hop in hops(in: head, header: header).reversed().prefix(maximumHops) {
            guard let address = hop else { break }
            client = address.unmapped.description
            if !trustedProxies.contains(address) { break }
        }
        return client
    }

    /// The entries of `header` (for `Forwarded`, its `for=` parameters), left to right; `nil` for an entry that is
    /// not an address.
    static func hops(in head: RequestHead, header: Header) -> [IPAddress?] {
        if header == .forwarded {
            let elements = head.headers.filter { $0.name.lowercased() == "forwarded" }.flatMap { $0.value.split(separator: ",") }
            return elements.map { element in
                let parameters = element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let value = parameters.first(where: { $0.lowercased().hasPrefix("for=") })?.dropFirst(4) else {
                    return nil
                }
                return address(in: value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? value.dropFirst().dropLast() : value)
            }
        }
        return head.headers.filter { $0.name.lowercased() == "x-forwarded-for" }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { address(in: Substring($0.trimmingCharacters(in: .whitespaces))) }
    }

    /// The address in one entry: bare (`192.0.2.7`, `2001:db8::1`), with a port (`192.0.2.7:4711`,
    /// `[2001:db8::1]:4711`) or bracketed (`[2001:db8::1]`).
    static func address(in entry: Substring) -> IPAddress? {
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            let rest = entry[entry.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }) else {
                return nil
            }
            return IPAddress(entry[entry.index(after: entry.startIndex)..<close])
        }
        if let address = IPAddress(entry) { return address }
        // IPv4 with a port: exactly one colon.
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), !parts[1].isEmpty,
            let address = IPAddress(parts[0]), address.isIPv4
        else { return nil }
        return address
    }
}
