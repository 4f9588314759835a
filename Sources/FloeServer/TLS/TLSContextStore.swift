import FloeCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The TLS context new connections are served with, built from the configured certificate and key and replaced
/// on reload.
///
/// Building a context reads files and checks the key against the certificate, so it happens at start and on
/// reload, never on an event loop. A connection takes the context current when its first byte says TLS and keeps
/// it to the end: a renewed certificate reaches new connections only, and no stream is interrupted.
final class TLSContextStore: Sendable {
    private let state: NIOLockedValueBox<Loaded?>

    /// A context with what was read to build it.
    struct Loaded: Sendable {
        var context: NIOSSLContext
        var certificate: TLSCertificateSummary
        /// The certificates of the file, leaf first.
        var chain: [NIOSSLCertificate]
        var settings: TLSCertificateSettings
    }

    /// Empty until the server loads the configured certificate (`reload`) as it starts.
    init() {
        state = NIOLockedValueBox(nil)
    }

    /// The context for a new TLS connection; `nil` when no certificate is configured.
    var context: NIOSSLContext? {
        state.withLockedValue { $0?.context }
    }

    /// What the current certificate is (for logs and tests).
    var certificate: TLSCertificateSummary? {
        state.withLockedValue { $0?.certificate }
    }

    /// Reads the certificate and key (at start, and on SIGHUP). On failure the context in use stays, and the error
    /// names the file that failed. Returns the new certificate's summary.
    @discardableResult
    func reload(_ settings: TLSCertificateSettings) throws(TLSSetupError) -> TLSCertificateSummary {
        let loaded = try Self.load(settings)
        state.withLockedValue { $0 = loaded }
        return loaded.certificate
    }

    /// Builds a server context: TLS 1.2 at least, ALPN `http/1.1`, the configured TLS 1.2 suites if any.
    static func load(_ settings: TLSCertificateSettings) throws(TLSSetupError) -> Loaded {
        let keyFile = settings.keyFile ?? settings.certificateFile
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(settings.certificateFile)
        } catch {
            throw TLSSetupError(file: settings.certificateFile, reason: Self.reason(error, reading: "certificate"))
        }
        guard let leaf = chain.first else {
            throw TLSSetupError(file: settings.certificateFile, reason: "no PEM certificate in the file")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            let hint = settings.keyFile == nil ? " (no key file is configured, so the key is read from the certificate file)" : ""
            throw TLSSetupError(file: keyFile, reason: Self.reason(error, reading: "private key") + hint)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if let ciphers = settings.allowedCiphers {
            let list = TLSCipherList(ciphers)
            if !list.codePoints.isEmpty {
                configuration.cipherSuiteValues = list.codePoints.map(NIOTLSCipher.init(rawValue:))
            }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL compares the key with the leaf certificate's public key here.
            throw TLSSetupError(
                file: keyFile,
                reason: "the private key does not match the certificate in \(settings.certificateFile) (\(error))"
            )
        }
        return Loaded(context: context, certificate: TLSCertificateSummary(leaf, chainLength: chain.count), chain: chain, settings: settings)
    }

    private static func reason(_ error: any Error, reading what: String) -> String {
        if let error = error as? IOError { return "cannot read the \(what): \(error.description)" }
        return "not a usable PEM \(what) (\(error))"
    }
}

/// A certificate file that cannot be used, named with the file.
struct TLSSetupError: Error, CustomStringConvertible {
    var file: String
    var reason: String
    var description: String { "\(file): \(reason)" }
}

/// What a loaded certificate is, for logs, `check-config` and tests.
struct TLSCertificateSummary: Sendable, Equatable {
    /// The leaf's serial number, in hex.
    var serial: String
    /// The leaf's subject common name, if any.
    var commonName: String?
    var notValidAfter: Date
    /// Certificates in the file (leaf and intermediates).
    var chainLength: Int

    init(_ leaf: NIOSSLCertificate, chainLength: Int) {
        serial = leaf.serialNumber.map { String(format: "%02x", $0) }.joined()
        commonName = leaf.subjectName.last(where: { $0.type == .commonName })?.value
        notValidAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        self.chainLength = chainLength
    }
}
