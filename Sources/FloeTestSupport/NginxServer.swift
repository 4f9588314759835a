import Foundation

/// A real nginx (Debian's package) on a free loopback port in front of one Floe server: as a plain reverse proxy
/// (every request passed on with `X-Forwarded-For`, responses streamed through unbuffered, as a proxy in front
/// of a radio station must), or with a configuration file of the repository's. Stopped when released.
public final class NginxServer: @unchecked Sendable {
    // @unchecked: immutable after init; the process handle is only terminated.
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ExternalProcess

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts nginx proxying to `127.0.0.1:upstreamPort` and waits until it listens.
    public convenience init(proxyingTo upstreamPort: Int) async throws {
        try await self.init { port, _ in
            """
            server {
              listen 127.0.0.1:\(port);
              location / {
                proxy_pass http://127.0.0.1:\(upstreamPort);
                proxy_set_header Host $host:$server_port;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_buffering off;
                proxy_read_timeout 60s;
              }
            }
            """
        }
    }

    /// Starts nginx with a configuration file written for an `http { }` block (such as the shipped
    /// `deploy/nginx/floe-hls.conf`), its origin, listen port and cache directory changed to this test's:
    /// `server 127.0.0.1:8000;` becomes the upstream port, `listen 8080;` a free loopback port, and
    /// `/var/lib/nginx/` (Debian's nginx directory) a scratch directory.
    public convenience init(configurationFile: String, upstreamPort: Int) async throws {
        let text = try String(contentsOfFile: configurationFile, encoding: .utf8)
        try await self.init { port, prefix in
            let replaced = text
                .replacingOccurrences(of: "server 127.0.0.1:8000;", with: "server 127.0.0.1:\(upstreamPort);")
                .replacingOccurrences(of: "listen 8080;", with: "listen 127.0.0.1:\(port);")
                .replacingOccurrences(of: "/var/lib/nginx/", with: "\(prefix)/")
            guard replaced.contains("127.0.0.1:\(upstreamPort)"), replaced.contains("listen 127.0.0.1:\(port)") else {
                throw Failure(description: "\(configurationFile) has no `server 127.0.0.1:8000;` or `listen 8080;` to adapt")
            }
            return replaced
        }
    }

    /// Starts nginx with `http` (the body of its `http { }` block, given the port and the scratch directory) and
    /// waits until it listens.
    private init(http: (_ port: Int, _ prefix: String) throws -> String) async throws {
        directory = try TemporaryDirectory()
        port = try IcecastServer.freeTCPPort()
        let prefix = directory.url.path
        let configuration = """
            worker_processes 1;
            daemon off;
            master_process off;
            pid \(prefix)/nginx.pid;
            error_log stderr warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path \(prefix)/body;
              proxy_temp_path \(prefix)/proxy;
              fastcgi_temp_path \(prefix)/fastcgi;
              uwsgi_temp_path \(prefix)/uwsgi;
              scgi_temp_path \(prefix)/scgi;
            \(try http(port, prefix))
            }
            """
        let file = directory.path("nginx.conf")
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        // One process, no daemon: nginx stays the child this object terminates.
        process = try ExternalProcess("/usr/sbin/nginx", ["-p", prefix, "-e", "stderr", "-c", file])
        for _ in 0..<100 {
            if (try? RawSocket(port: port, timeout: 1)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        let output = await process.finish(timeout: 5)
        throw Failure(description: "nginx did not listen on port \(port): \(output.stderr)")
    }

    deinit {
        process.terminate()
    }
}
