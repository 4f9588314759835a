import Foundation

/// A certificate authority and a server certificate for `localhost` and 127.0.0.1, made with the `openssl` command
/// for one test: clients trust `caFile` (curl `--cacert`, libshout `shout_set_ca_file`), the server presents
/// `certificateFile` (leaf then CA) with `keyFile`, or `bundleFile` (chain and key in one PEM, as Icecast reads).
public struct TestCertificate: Sendable {
    public let caFile: String
    public let certificateFile: String
    public let keyFile: String
    public let bundleFile: String
    /// The server certificate's serial number, lower-case hex without leading zeros (as `openssl x509 -serial`).
    public let serial: String
    /// Base64 of the SHA-256 of the server key's SubjectPublicKeyInfo: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes to trust this certificate (and no other) without a CA store.
    public let publicKeyHash: String

    /// Makes a new CA and server certificate under `directory`; `name` keeps several sets apart.
    public static func make(in directory: TemporaryDirectory, name: String = "server", days: Int = 30) async throws -> TestCertificate {
        let ca = directory.path("\(name)-ca.pem")
        let caKey = directory.path("\(name)-ca-key.pem")
        let key = directory.path("\(name)-key.pem")
        let request = directory.path("\(name).csr")
        let leaf = directory.path("\(name)-leaf.pem")
        let extensions = directory.path("\(name).ext")
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await openssl(["req", "-x509"] + curve + ["-keyout", caKey, "-out", ca, "-days", "\(days)", "-subj", "/CN=Floe test CA \(name)"])
        try await openssl(["req", "-new"] + curve + ["-keyout", key, "-out", request, "-subj", "/CN=localhost"])
        try await openssl([
            "x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", leaf,
            "-days", "\(days)", "-extfile", extensions,
        ])
        let chain = directory.path("\(name)-chain.pem")
        let bundle = directory.path("\(name)-bundle.pem")
        let leafText = try String(contentsOfFile: leaf, encoding: .utf8)
        let caText = try String(contentsOfFile: ca, encoding: .utf8)
        let keyText = try String(contentsOfFile: key, encoding: .utf8)
        try (leafText + caText).write(toFile: chain, atomically: true, encoding: .utf8)
        try (leafText + caText + keyText).write(toFile: bundle, atomically: true, encoding: .utf8)
        let serialLine = String(decoding: try await openssl(["x509", "-in", leaf, "-noout", "-serial"]).stdout, as: UTF8.self)
        let serial = serialLine.split(separator: "=").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let publicKey = directory.path("\(name)-public.der")
        try await openssl(["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", publicKey])
        let digest = try await openssl(["dgst", "-sha256", "-binary", publicKey]).stdout
        return TestCertificate(
            caFile: ca, certificateFile: chain, keyFile: key, bundleFile: bundle, serial: Self.normalised(serial),
            publicKeyHash: Data(digest).base64EncodedString()
        )
    }

    /// Hex as Floe and openssl may write it, compared without case or leading zeros.
    public static func normalised(_ hex: String) -> String {
        let lower = hex.lowercased().drop(while: { $0 == "0" })
        return lower.isEmpty ? "0" : String(lower)
    }

    @discardableResult
    private static func openssl(_ arguments: [String]) async throws -> ExternalProcess.Result {
        let result = try await ExternalProcess.run("openssl", arguments, timeout: 30)
        guard result.status == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.first ?? "") failed: \(result.stderr)"])
        }
        return result
    }
}
