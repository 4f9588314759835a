import FloeCore
import Foundation
import Logging

/// Who may connect, and who a request really came from: the trusted proxies of the configuration and the
/// `allow-ip` / `deny-ip` files, read when the configuration is loaded or reloaded (SIGHUP).
///
/// A connection is checked twice. At accept, its socket address, unless that is a trusted proxy (a proxy carries
/// many clients; banning it would ban them all). Then, once the head names the client behind a trusted proxy
/// (`ForwardedClientAddress`), that client's address.
struct AddressRules: Sendable {
    let trustedProxies: AddressList
    let clientAddressHeader: ForwardedClientAddress.Header
    /// `nil`: everyone is allowed.
    let allowed: AddressList?
    let denied: AddressList

    init(
        trustedProxies: AddressList,
        clientAddressHeader: ForwardedClientAddress.Header = .xForwardedFor,
        allowed: AddressList?,
        denied: AddressList
    ) {
        self.trustedProxies = trustedProxies
        self.clientAddressHeader = clientAddressHeader
        self.allowed = allowed
        self.denied = denied
    }

    /// Reads the files `configuration` names. A file that cannot be read is logged and treated as empty: an allow
    /// list that cannot be read admits nobody rather than everybody.
    init(loading configuration: ServerConfiguration, logger: Logger) {
        func read(_ path: String?, role: String) -> AddressList? {
            guard let path else { return nil }
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                logger.error("Cannot read the \(role) file; it counts as empty", metadata: ["file": "\(path)"])
                return AddressList()
            }
            let (list, rejected) = AddressList.parsing(fileContents: contents)
            for entry in rejected {
                logger.warning(
                    "Not an address, CIDR range or wildcard; line skipped",
                    metadata: ["file": "\(path)", "line": "\(entry.line)", "text": "\(entry.text)"]
                )
            }
            return list
        }
        self.init(
            trustedProxies: configuration.trustedProxies,
            clientAddressHeader: configuration.clientAddressHeader,
            allowed: read(configuration.paths.allowIPFile, role: "allow-ip"),
            denied: read(configuration.paths.denyIPFile, role: "deny-ip") ?? AddressList()
        )
    }

    func isTrustedProxy(_ address: String) -> Bool {
        trustedProxies.contains(address)
    }

    /// Whether `address` may connect: not in `deny-ip`, and in `allow-ip` when there is one. Text that is not an
    /// address (a socket without one) is admitted only without an allow list.
    func admits(_ address: String) -> Bool {
        guard allowed != nil || !denied.isEmpty else { return true }
        guard let parsed = IPAddress(address) else { return allowed == nil }
        if denied.contains(parsed) { return false }
        return allowed?.contains(parsed) ?? true
    }

    /// The client's address for a request from `peer` (see `ForwardedClientAddress`).
    func clientAddress(peer: String, head: RequestHead) -> String {
        ForwardedClientAddress.resolve(peer: peer, head: head, trustedProxies: trustedProxies, header: clientAddressHeader)
    }
}
