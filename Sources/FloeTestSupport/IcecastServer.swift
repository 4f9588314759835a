import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Icecast 2.4.4 (Debian's `icecast2`) on a free loopback port, for tests whose peer is Icecast: an upstream
/// for relays, a master, a slave. Its sources log in with ``TestServer/sourcePassword``; admin and relay logins
/// use ``TestServer/adminPassword``. Stopped when released.
public final class IcecastServer: @unchecked Sendable {
    // @unchecked: immutable after init; the process handle is only terminated.
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ExternalProcess

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts Icecast with `extra` XML inside `<icecast>` (relays, mounts, a master) and waits until it listens.
    public init(extra: String = "") async throws {
        directory = try TemporaryDirectory()
        port = try Self.freeTCPPort()
        let runsAsRoot = getuid() == 0
        // Icecast refuses to run as root; it drops to Debian's icecast2 user, which must write the logs here.
        let changeOwner = runsAsRoot
            ? "<changeowner><user>icecast2</user><group>icecast</group></changeowner>" : ""
        let xml = """
            <icecast>
              <hostname>127.0.0.1</hostname>
              <limits><clients>100</clients><sources>10</sources><burst-size>65536</burst-size>
                <header-timeout>5</header-timeout><source-timeout>10</source-timeout></limits>
              <authentication>
                <source-password>\(TestServer.sourcePassword)</source-password>
                <relay-user>relay</relay-user><relay-password>\(TestServer.adminPassword)</relay-password>
                <admin-user>admin</admin-user><admin-password>\(TestServer.adminPassword)</admin-password>
              </authentication>
              <listen-socket><port>\(port)</port><bind-address>127.0.0.1</bind-address></listen-socket>
              <fileserve>1</fileserve>
              <paths>
                <basedir>/usr/share/icecast2</basedir><logdir>\(directory.url.path)</logdir>
                <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
              </paths>
              <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
              <security><chroot>0</chroot>\(changeOwner)</security>
              \(extra)
            </icecast>
            """
        let file = directory.path("icecast.xml")
        try xml.write(toFile: file, atomically: true, encoding: .utf8)
        if runsAsRoot {
            try FileManager.default.setAttributes([.posixPermissions: 0o755, .ownerAccountName: "icecast2"], ofItemAtPath: directory.url.path)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        }
        process = try ExternalProcess("/usr/bin/icecast2", ["-c", file])
        for _ in 0..<100 {
            if (try? RawSocket(port: port, timeout: 1)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw Failure(description: "icecast2 did not listen on port \(port): \(errorLog)")
    }

    deinit {
        process.terminate()
    }

    /// Stops Icecast now (its sources and listeners are cut off), as a crash or a lost machine would.
    public func stop() {
        process.terminate()
    }

    /// The tail of Icecast's error log, for failure messages.
    public var errorLog: String {
        String((try? String(contentsOfFile: directory.path("error.log"), encoding: .utf8))?.suffix(2_000) ?? "")
    }

    /// A free TCP port on 127.0.0.1 (bound and released: Icecast must be told its port up front).
    static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
