/// How a listen socket treats TLS.
///
/// Icecast 2.4 knows TLS-only sockets (`<ssl>1</ssl>`); Icecast 2.5 adds `<tls>` with `auto`, `auto_no_plain`,
/// `rfc2817` and `rfc2818`. Floe keeps three behaviours, and maps 2.5's names onto them:
///
/// | Floe  | Icecast 2.5                          | a TLS ClientHello | a plain request                         |
/// |-------|--------------------------------------|-------------------|-----------------------------------------|
/// | off   | `disabled`                           | not TLS (400)     | served                                  |
/// | on    | `rfc2818`, `auto_no_plain`, `rfc2817`| TLS               | upgraded when it asks (RFC 2817), else an error |
/// | auto  | `auto`                               | TLS               | served, or upgraded when it asks        |
///
/// The first byte of a connection tells the two apart (`0x16` opens every TLS handshake), so `on` can answer a
/// plain request with a readable error instead of a reset, and `auto` needs one port for both.
public enum TLSMode: String, Sendable, Equatable, CaseIterable {
    case off
    case on
    case auto
}

/// The certificate every TLS socket presents (one for the whole server; SNI is accepted, not used to choose).
public struct TLSCertificateSettings: Sendable, Equatable {
    /// A PEM file with the certificate chain, leaf first; it may hold the private key too (Icecast's one file).
    public var certificateFile: String
    /// A PEM file with the private key; `nil` when `certificateFile` holds it.
    public var keyFile: String?
    /// OpenSSL-style cipher list for TLS 1.2 (Icecast's `ssl-allowed-ciphers`); `nil` keeps the modern default.
    /// TLS 1.3 suites are not configurable.
    public var allowedCiphers: String?

    public init(certificateFile: String, keyFile: String? = nil, allowedCiphers: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.allowedCiphers = allowedCiphers
    }
}
