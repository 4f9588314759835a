import FloeCore
import Foundation
import NIOSSL

/// What `floe check-config` says about the configured certificate, beyond what the server checks when it loads
/// it (the files parse as PEM, the key matches the leaf; see `TLSContextStore.load`).
///
/// Warned about: a chain out of order (each certificate must be followed by its issuer, leaf first, or clients
/// that need the intermediates fail), and a certificate that has expired or expires within 14 days.
public enum TLSCertificateCheck {
    /// Loads `settings` as the server would and returns the warnings. Throws when the server would refuse the
    /// files; the error names the file.
    public static func check(_ settings: TLSCertificateSettings, now: Date = Date()) throws -> [String] {
        let loaded = try TLSContextStore.load(settings)
        var warnings: [String] = []
        let chain = loaded.chain
        for index in chain.indices.dropLast() where chain[index].issuerName != chain[index + 1].subjectName {
            warnings.append(
                "\(settings.certificateFile): certificate \(index + 2) of \(chain.count) did not issue certificate "
                    + "\(index + 1); put the leaf first, then each issuer in turn"
            )
        }
        let expiry = loaded.certificate.notValidAfter
        if expiry < now {
            warnings.append("\(settings.certificateFile): the certificate expired on \(expiry)")
        } else if expiry.timeIntervalSince(now) < FloeServer.expiryWarning {
            warnings.append("\(settings.certificateFile): the certificate expires within 14 days, on \(expiry)")
        }
        return warnings
    }
}
