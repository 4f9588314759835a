import Yams

/// Loads Floe's own configuration format: a main YAML file (`floe.yaml`) and one YAML file per mount
/// (`mounts/live.yaml` configures `/live`). The format is documented, option by option with its default, in
/// ``EmbeddedConfiguration/yaml``; `floe.example.yaml` in the repository is the same text.
///
/// This type only parses: text in, model out, so it is easy to test and never touches the disk.
/// ``ConfigurationDirectoryLoader`` reads the files and puts main file and mount files together.
///
/// The contract:
/// - Every option has a default (the model's `init`); a file says only what differs.
/// - Anything the loader cannot use is a ``ConfigurationError`` naming file, line and option, never a guess or a
///   silently ignored value: an unknown option (with "did you mean" when a known one is close, or where the option
///   belongs when it is in the wrong section), a value of the wrong type (`clients: lots`, a quoted number), a value
///   out of range, a mount path without its leading `/`, malformed YAML, an option given twice.
/// - Option paths in errors: `limits/clients`, `listen[0]/port`, `mounts[/live]/genre`, `default-mount/intro`; in a
///   mount file just the option (`max-listeners`), since the file names the mount.
/// - A mount (inline under `mounts`, or a mount file) is filled from `default-mount` for every setting it leaves
///   unset, as the icecast.xml loader does (``MountConfiguration/filled(from:mountPath:)``). Then
///   ``ConfigurationValidator`` checks fallbacks across mounts.
/// - Relays are pulled, and with `master-server` every mount of the master's stream list.
public struct NativeConfigurationLoader: Sendable {
    public init() {}

    /// Parses a main configuration file on its own (its inline `mounts` only), fills the mounts from
    /// `default-mount` and validates the result.
    ///
    /// The file's `mounts-directory` is checked but not read; ``ConfigurationDirectoryLoader/load(mainFile:)`` does
    /// that, and validates again with the mount files added.
    ///
    /// - Parameter fileName: used in error messages.
    public func load(yaml: String, fileName: String) throws(ConfigurationError) -> LoadedConfiguration {
        try parseMain(yaml: yaml, fileName: fileName).finish()
    }

    /// Parses one mount file. The result holds only what the file sets: filling from `default-mount` happens when
    /// the mount joins a main configuration.
    ///
    /// - Parameters:
    ///   - fileName: used in error messages.
    ///   - mountPath: the mount the file configures (from ``mountPath(forFileName:)``), checked here.
    public func loadMount(
        yaml: String,
        fileName: String,
        mountPath: String
    ) throws(ConfigurationError) -> MountConfiguration {
        try parseMount(yaml: yaml, fileName: fileName, mountPath: mountPath).mount
    }

    /// The mount a file in the mounts directory configures: `live.yaml` → `/live`, `radio.mp3.yml` → `/radio.mp3`.
    ///
    /// `nil` for files that are not mount files: names not ending in `.yaml` or `.yml` (`README.md`, an editor's
    /// `live.yaml~`, `live.yaml.disabled`) and hidden files (`.live.yaml`). Takes a file name, not a path.
    public static func mountPath(forFileName fileName: String) -> String? {
        guard !fileName.hasPrefix("."), !fileName.contains("/") else { return nil }
        for suffix in [".yaml", ".yml"] where fileName.hasSuffix(suffix) {
            return "/" + fileName.dropLast(suffix.count)
        }
        return nil
    }

    // MARK: - Parsing, for ConfigurationDirectoryLoader

    /// The main file as read, before mount files are added and before mounts are filled from the default.
    func parseMain(yaml: String, fileName: String) throws(ConfigurationError) -> NativeConfigurationDraft {
        let document = try Self.compose(yaml, fileName: fileName)
        var draft = NativeConfigurationDraft(fileName: fileName)
        try document.apply(NativeConfigurationKeys.root, to: &draft, hints: NativeConfigurationKeys.rootHints)

        return draft
    }

    /// One mount file, with where its options are written (for the validator's messages).
    func parseMount(
        yaml: String,
        fileName: String,
        mountPath: String
    ) throws(ConfigurationError) -> (mount: MountConfiguration, origin: MountOrigin) {
        if let problem = ConfigurationValidator.pathProblem(mountPath) {
            throw ConfigurationError(
                file: fileName,
                line: nil,
                option: "",
                message: "the file configures the mount \"\(mountPath)\", which \(problem); rename the file"
            )
        }
        let document = try Self.compose(yaml, fileName: fileName)
        var mount = MountConfiguration()
        try document.apply(NativeConfigurationKeys.mount, to: &mount, hints: NativeConfigurationKeys.mountHints)
        var origin = MountOrigin(document)
        origin.line = nil  // The whole file is the mount; no one line stands for it.
        return (mount, origin)
    }

    /// The document's root node, or a null node for a file with nothing but comments.
    private static func compose(_ yaml: String, fileName: String) throws(ConfigurationError) -> YAMLValue {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw syntaxError(error, yaml: yaml, fileName: fileName)
        }
        return YAMLValue(node: root ?? Node("", Tag(.null)), path: "", fileName: fileName)
    }

    /// A Yams error as a ``ConfigurationError`` with the line libyaml reports, and a hint for the two mistakes
    /// people make most: a tab in the indentation, and an unquoted value starting with `*` or `&`.
    private static func syntaxError(_ error: any Error, yaml: String, fileName: String) -> ConfigurationError {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "malformed YAML: " + (problem.hasPrefix("but ") ? String(problem.dropFirst(4)) : problem)
            if let context {
                message +=
                    " (\(context.text)" + (context.mark.line == mark.line ? ")" : " from line \(context.mark.line))")
            }
            let line = yaml.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(mark.line - 1).first
            if line?.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") == true {
                message += "; indent with spaces, not tabs"
            } else if context?.text.contains("alias") == true || context?.text.contains("anchor") == true {
                message += "; quote values that start with * or & (\"*\")"
            }
            return ConfigurationError(file: fileName, line: mark.line, option: "", message: message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigurationError(
                file: fileName,
                line: context.mark.line,
                option: duplicates.first ?? "",
                message: "\(names) is given more than once in the same mapping; keep one"
            )
        case .reader(let problem, _, _, _):
            return ConfigurationError(file: fileName, line: nil, option: "", message: "unreadable YAML: \(problem)")
        default:
            return ConfigurationError(file: fileName, line: nil, option: "", message: "malformed YAML: \(error)")
        }
    }
}

/// Where a mount's options are written, so the validator's errors can name the file, line and option.
struct MountOrigin {
    var file: String
    /// Prefix of the mount's option paths: `mounts[/live]/`, `default-mount/`, or empty in a mount file.
    var prefix: String
    /// Line of the mount as a whole (its key under `mounts`); `nil` for a mount file.
    var line: Int?
    /// Line of each option the mount sets.
    var keyLines: [String: Int]

    init(_ value: YAMLValue) {
        file = value.fileName
        prefix = value.path.isEmpty ? "" : value.path + "/"
        line = value.line
        keyLines = value.keyLines
    }

    init(file: String, prefix: String) {
        self.file = file
        self.prefix = prefix
        self.keyLines = [:]
    }

    func location(of option: String) -> ConfigurationValidator.Location {
        ConfigurationValidator.Location(file: file, line: keyLines[option] ?? line, option: prefix + option)
    }
}

/// A main configuration while it is being put together: the configuration with its mounts not yet filled from
/// the default mount, and what is needed to finish it.
struct NativeConfigurationDraft {
    let fileName: String
    var configuration = ServerConfiguration()
    var warnings: [ConfigurationWarning] = []

    /// The mounts directory, relative to the main file's directory; `nil` reads none.
    var mountsDirectory: String? = "mounts"
    /// Whether the file names the directory. Only then is a missing directory an error: the default `mounts`
    /// may well not exist.
    var mountsDirectoryIsExplicit = false
    var mountsDirectoryLine: Int?
    /// Where the first socket with TLS is written, for the error about a missing certificate.
    var firstTLSSocket: (line: Int?, option: String)?

    /// Where each mount and the default mount are written.
    var origins: [String: MountOrigin] = [:]
    var defaultMountOrigin: MountOrigin

    init(fileName: String) {
        self.fileName = fileName
        defaultMountOrigin = MountOrigin(file: fileName, prefix: "default-mount/")
    }

    /// Adds a mount, refusing one that is already defined (inline, or by another file).
    mutating func addMount(
        _ path: String,
        _ mount: MountConfiguration,
        origin: MountOrigin
    ) throws(ConfigurationError) {
        if let existing = origins[path] {
            let place = existing.file + (existing.line.map { ":\($0)" } ?? "")
            throw ConfigurationError(
                file: origin.file,
                line: origin.line,
                option: origin.prefix.isEmpty ? "" : String(origin.prefix.dropLast()),
                message: "the mount \(path) is already defined at \(place); define each mount once"
            )
        }
        configuration.mounts[path] = mount
        origins[path] = origin
    }

    /// Fills every mount from the default mount, validates, and returns the configuration with all warnings.
    func finish() throws(ConfigurationError) -> LoadedConfiguration {
        var configuration = configuration
        for (path, mount) in configuration.mounts {
            configuration.mounts[path] = mount.filled(from: configuration.defaultMount, mountPath: path)
        }
        // A mount file's `relay:` joins the main file's relays, as the relay of that mount.
        for (path, mount) in configuration.mounts.sorted(by: { $0.key < $1.key }) {
            guard let pulled = mount.relay else { continue }
            if configuration.relay.relays.contains(where: { $0.localMount == path }) {
                let origin = origins[path] ?? defaultMountOrigin
                throw ConfigurationError(
                    file: origin.file,
                    line: origin.keyLines["relay"] ?? origin.line,
                    option: origin.prefix + "relay",
                    message: "the relay section in the main file already relays \(path); relay each mount once"
                )
            }
            var relay = pulled.relay
            relay.localMount = path
            relay.onDemand = pulled.onDemand ?? configuration.relay.relaysOnDemand
            configuration.relay.relays.append(relay)
            configuration.mounts[path]?.relay = nil
        }
        if configuration.tls == nil, let socket = configuration.listenSockets.first(where: { $0.tls != .off }) {
            throw ConfigurationError(
                file: fileName,
                line: firstTLSSocket?.line,
                option: firstTLSSocket?.option ?? "listen",
                message: "port \(socket.port) has tls: \(socket.tls.rawValue), which needs a certificate: "
                    + "add tls: { certificate: FILE } (and key: FILE when the certificate file holds no key)"
            )
        }
        let validatorWarnings = try ConfigurationValidator.validate(configuration) { path, option in
            (path.flatMap { origins[$0] } ?? defaultMountOrigin).location(of: option)
        }
        return LoadedConfiguration(configuration: configuration, warnings: warnings + validatorWarnings)
    }
}
