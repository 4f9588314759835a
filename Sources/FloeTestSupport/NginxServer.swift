import Foundation

/// A real nginx (Debian's package) on a free loopback port, as a reverse proxy in front of one Floe server: it
/// passes every request on with `X-Forwarded-For` (`$proxy_add_x_forwarded_for`, as most deployments do) and
/// streams responses through unbuffered, as a proxy in front of a radio station must. Stopped when released.
public final class NginxServer: @unchecked Sendable {
    // @unchecked: immutable after init; the process handle is only terminated.
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ExternalProcess

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts nginx proxying to `127.0.0.1:upstreamPort` and waits until it listens.
    public init(proxyingTo upstreamPort: Int) async throws {
        directory = try TemporaryDirectory()
        port = try IcecastServer.freeTCPPort()
        let prefix = directory.url.path
        let configuration = """
            worker_processes 1;
            daemon off;
            master_process off;
            pid \(prefix)/nginx.pid;
            error_log stderr warn;
            events { worker_connections 256; }
            http {
              access_log off;
              client_body_temp_path \(prefix)/body;
              proxy_temp_path \(prefix)/proxy;
              fastcgi_temp_path \(prefix)/fastcgi;
              uwsgi_temp_path \(prefix)/uwsgi;
              scgi_temp_path \(prefix)/scgi;
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
