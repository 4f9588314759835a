import Foundation

/// A master server's `/admin/streamlist.txt`, read as Icecast 2.4's slave reads it: each non-empty line is a mount
/// path on the master, or an absolute `http://`/`https://` URL of a stream elsewhere; each becomes a relay of that
/// stream onto the same path here.
public enum MasterStreamList {
    /// The relays `body` asks for. `master` is the master's base URL (`http://host:port`), for lines that are
    /// paths; lines that are neither a path nor an http(s) URL are skipped. Master–slave relays always relay
    /// titles, as Icecast's do.
    public static func relays(
        from body: String,
        master: String,
        onDemand: Bool,
        hold: Double = 10
    ) -> [ServerConfiguration.Relay] {
        var seen = Set<String>()
        var relays: [ServerConfiguration.Relay] = []
        for rawLine in body.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let url: String
            let path: String
            if line.hasPrefix("/") {
                url = master + line
                path = line
            } else if let scheme = line.range(of: "://"), ["http", "https"].contains(line[..<scheme.lowerBound].lowercased()),
                let slash = line[scheme.upperBound...].firstIndex(of: "/")
            {
                url = line
                path = String(line[slash...])
            } else {
                continue
            }
            guard path.count > 1, Self.mayRelay(path), seen.insert(path).inserted else { continue }
            relays.append(
                ServerConfiguration.Relay(
                    upstreams: [ServerConfiguration.RelayUpstream(url: url)],
                    localMount: path,
                    onDemand: onDemand,
                    relayMetadata: true,
                    hold: hold
                )
            )
        }
        return relays
    }

    /// Whether a master may have a relay at `path`: a path a configuration could name as a mount (no `..`, `?`,
    /// `#`, white space or control characters, no leading `//`), and none of the server's own endpoints, which a
    /// master's list must not be able to shadow (found by a probe).
    static func mayRelay(_ path: String) -> Bool {
        ConfigurationValidator.pathProblem(path) == nil && !ServerEndpoints.isReserved(path)
    }
}
