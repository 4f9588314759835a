/// Checks that need the whole configuration rather than one value, shared by every loader so an `icecast.xml` and
/// a `floe.yaml` are held to the same rules.
///
/// A loader reads and range-checks each value where it knows the line, then calls ``validate(_:locate:)`` on the
/// finished configuration (mounts already filled from the default mount). The validator knows nothing about files,
/// so it asks the loader, through `locate`, where a mount's option was written.
///
/// Fallbacks, the one thing checked so far, follow Icecast's runtime rules (`source.c`, `MAX_FALLBACK_DEPTH`):
/// - A mount's fallback is its own `fallbackMount`, or, for a path with no settings of its own, the default
///   mount's. A default fallback naming the path itself counts as none (see
///   ``MountConfiguration/filled(from:mountPath:)``).
/// - A fallback path that is not a configured mount is accepted as it is: it may be a mount that exists only
///   while a source is connected, or a file under the web root. Nothing on disk is looked at here.
/// - Refused: a mount that names itself as its fallback, a chain that comes back to a mount already on it
///   (`/a` → `/b` → `/a`), a chain of more than ``maximumFallbackDepth`` steps (Icecast stops following there), and
///   a fallback path that could never be requested (no leading `/`, a `..` segment, a `?` or `#`).
/// - Warned about: `fallbackOverride` or `fallbackWhenFull` on a configured mount without a fallback, which do
///   nothing there.
public enum ConfigurationValidator {
    /// Icecast's `MAX_FALLBACK_DEPTH`: a chain longer than this is not followed to its end.
    public static let maximumFallbackDepth = 10

    /// Where a loader says an option was written: what a ``ConfigurationError`` needs besides its message.
    public struct Location: Sendable, Equatable {
        public var file: String
        public var line: Int?
        /// The option's path as the file spells it, e.g. `mounts[/a]/fallback-mount` or `mount[/a]/fallback-mount`.
        public var option: String

        public init(file: String, line: Int?, option: String) {
            self.file = file
            self.line = line
            self.option = option
        }
    }

    /// Validates `configuration`.
    ///
    /// - Parameter locate: where the option named by its native key (`fallback-mount`, `fallback-override`,
    ///   `fallback-when-full`) of the mount at the given path (`nil` for the default mount) was written.
    /// - Returns: warnings for settings that have no effect, in mount-path order.
    /// - Throws: ``ConfigurationError`` for the first problem, in mount-path order, so the result is stable.
    public static func validate(
        _ configuration: ServerConfiguration,
        locate: (_ mountPath: String?, _ option: String) -> Location
    ) throws(ConfigurationError) -> [ConfigurationWarning] {
        func fail(_ mountPath: String?, _ option: String, _ message: String) -> ConfigurationError {
            let location = locate(mountPath, option)
            return ConfigurationError(
                file: location.file,
                line: location.line,
                option: location.option,
                message: message
            )
        }

        if let fallback = configuration.defaultMount.fallbackMount, let problem = pathProblem(fallback) {
            throw fail(nil, "fallback-mount", "the fallback \"\(fallback)\" \(problem)")
        }
        let paths = configuration.mounts.keys.sorted()
        var warnings: [ConfigurationWarning] = []
        for path in paths {
            let mount = configuration.mounts[path]!
            guard let fallback = mount.fallbackMount else {
                for (enabled, option) in [
                    (mount.fallbackOverride, "fallback-override"), (mount.fallbackWhenFull, "fallback-when-full"),
                ] where enabled {
                    let location = locate(path, option)
                    let place = location.file + (location.line.map { ":\($0)" } ?? "")
                    warnings.append(
                        ConfigurationWarning(
                            option: location.option,
                            message: "has no effect: the mount \(path) has no fallback-mount (\(place))"
                        )
                    )
                }
                continue
            }
            if let problem = pathProblem(fallback) {
                throw fail(path, "fallback-mount", "the fallback \"\(fallback)\" \(problem)")
            }
            if fallback == path {
                throw fail(path, "fallback-mount", "the mount \(path) cannot fall back to itself")
            }
        }
        // Speaker outputs carry MPEG audio (RTP's MPA payload, FEC slices of MPEG frames, libmpg123): a mount
        // declared as another format cannot have one.
        for path in paths {
            let mount = configuration.mounts[path]!
            guard let type = mount.type, let output = mount.outputs.first else { continue }
            let format = StreamFormat(contentType: type)
            guard format != .mpeg else { continue }
            throw fail(
                path, "outputs",
                "the speaker output \(output.name) plays MPEG audio, and this mount's type is \(type) (RTP for AAC, RFC 3640, is not implemented)"
            )
        }
        // A transcoded mount is made from a configured mount other than itself, without a circle of transcodes.
        for path in paths {
            guard let transcode = configuration.mounts[path]!.transcode else { continue }
            var chain = [path]
            var origin = transcode.from
            while true {
                if origin == path {
                    let text = (chain + [origin]).joined(separator: " ← ")
                    throw fail(path, "transcode", chain.count == 1 ? "the mount \(path) cannot be transcoded from itself" : "transcode loop: \(text)")
                }
                guard let originMount = configuration.mounts[origin] else {
                    throw fail(path, "transcode", "transcode from \(origin): no such mount (the origin needs settings of its own, in mounts)")
                }
                guard let next = originMount.transcode?.from, !chain.contains(origin) else { break }
                chain.append(origin)
                origin = next
            }
            // The transcoder follows its origin's listeners to a fallback: that must not be the mount it feeds.
            var fallbackChain: [String] = [transcode.from]
            var current = transcode.from
            while let next = fallback(of: current, in: configuration), !fallbackChain.contains(next), fallbackChain.count <= maximumFallbackDepth {
                if next == path {
                    throw fail(path, "transcode", "\(transcode.from) falls back to \(path) (\((fallbackChain + [next]).joined(separator: " → "))), which is made from it")
                }
                fallbackChain.append(next)
                current = next
            }
        }
        // Every loop passes through a configured mount: an unconfigured path falls back to the default mount's
        // fallback, and that one falling back to itself counts as no fallback. Starting from each configured mount
        // therefore finds every loop; the first in path order is reported.
        for path in paths {
            var chain = [path]
            var current = path
            while let next = fallback(of: current, in: configuration) {
                if let start = chain.firstIndex(of: next) {
                    let loop = Array(chain[start...])
                    // Named at a mount that has settings of its own, where a fallback-mount can be changed.
                    let culprit = loop.first { configuration.mounts[$0] != nil } ?? path
                    let text = (loop + [next]).joined(separator: " → ")
                    throw fail(culprit, "fallback-mount", "fallback loop: \(text)")
                }
                chain.append(next)
                if chain.count > maximumFallbackDepth + 1 {
                    throw fail(
                        path,
                        "fallback-mount",
                        "the fallback chain \(chain.joined(separator: " → ")) … is longer than "
                            + "\(maximumFallbackDepth) steps; listeners would not get to its end"
                    )
                }
                current = next
            }
        }
        return warnings
    }

    /// The mount that listeners of `mountPath` move to when it has no source, as the server resolves it; `nil` when
    /// there is none. A fallback that names the path itself counts as none.
    public static func fallback(of mountPath: String, in configuration: ServerConfiguration) -> String? {
        let fallback = configuration.mount(mountPath).fallbackMount
        return fallback == mountPath ? nil : fallback
    }

    /// Why `path` cannot name a mount or a file under the web root, or `nil` if it can. Shared with the native
    /// loader, which checks mount names with it, and with source and listener requests for mounts the configuration
    /// does not name (icecast.xml takes any absolute name, as Icecast does).
    public static func pathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else {
            return "must start with \"/\""
        }
        if path.hasPrefix("//") {
            return "must not start with \"//\""
        }
        if path.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            return "must not contain a \"..\" segment"
        }
        for scalar in path.unicodeScalars {
            if scalar == "?" || scalar == "#" {
                return "must not contain \"\(scalar)\": a request for it could never reach it"
            }
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                return "must not contain whitespace or control characters"
            }
        }
        return nil
    }
}
