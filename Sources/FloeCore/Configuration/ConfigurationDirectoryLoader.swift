import Foundation

/// Reads a native configuration from disk: the main file (or ``EmbeddedConfiguration``) plus one file per mount in
/// its mounts directory. It is the only configuration code that touches the file system; the parsing itself is
/// ``NativeConfigurationLoader``'s, text in and model out.
///
/// The contract:
/// - The mounts directory (`mounts-directory`, default `mounts`) is relative to the main file's directory, or to
///   the current directory for the embedded configuration. A directory the file names explicitly must exist; the
///   default one may be missing (no mount files). `mounts-directory: ~` reads none.
/// - Mount files are the directory's files that ``NativeConfigurationLoader/mountPath(forFileName:)`` maps to a
///   mount, read in sorted name order so errors and warnings come out the same on every machine. Subdirectories
///   are not read.
/// - A mount defined twice (by two files such as `live.yaml` and `live.yml`, or by a file and an entry under
///   `mounts` in the main file) is an error naming both places.
/// - Mount files are read once, at load: adding or removing one takes effect at the next load.
public enum ConfigurationDirectoryLoader {
    /// Loads `mainFile` (or the embedded configuration when `nil`) with its mount files, fills every mount from
    /// `default-mount`, and validates the whole.
    ///
    /// - Throws: ``ConfigurationError`` for a file that cannot be read, and for anything
    ///   ``NativeConfigurationLoader`` or ``ConfigurationValidator`` refuses.
    public static func load(mainFile: String?) throws(ConfigurationError) -> LoadedConfiguration {
        let loader = NativeConfigurationLoader()
        var draft: NativeConfigurationDraft
        let baseDirectory: String
        if let mainFile {
            draft = try loader.parseMain(yaml: readText(mainFile), fileName: mainFile)
            baseDirectory = (mainFile as NSString).deletingLastPathComponent
        } else {
            draft = try loader.parseMain(yaml: EmbeddedConfiguration.yaml, fileName: EmbeddedConfiguration.fileName)
            baseDirectory = ""
        }
        if let directory = draft.mountsDirectory {
            let resolved =
                directory.hasPrefix("/") || baseDirectory.isEmpty
                ? directory : (baseDirectory as NSString).appendingPathComponent(directory)
            for (mountPath, file) in try mountFiles(in: resolved, for: draft) {
                let parsed = try loader.parseMount(yaml: readText(file), fileName: file, mountPath: mountPath)
                try draft.addMount(mountPath, parsed.mount, origin: parsed.origin)
            }
        }
        return try draft.finish()
    }

    /// The mount files of `directory` with their mount paths, in file-name order.
    private static func mountFiles(
        in directory: String,
        for draft: NativeConfigurationDraft
    ) throws(ConfigurationError) -> [(mountPath: String, file: String)] {
        func directoryError(_ message: String) -> ConfigurationError {
            ConfigurationError(
                file: draft.fileName,
                line: draft.mountsDirectoryLine,
                option: "mounts-directory",
                message: message
            )
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            if draft.mountsDirectoryIsExplicit {
                throw directoryError("the mounts directory \(directory) does not exist")
            }
            return []
        }
        guard isDirectory.boolValue else {
            throw directoryError("\(directory) is not a directory")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw directoryError("cannot list the mounts directory \(directory): \(error.localizedDescription)")
        }

        var files: [(mountPath: String, file: String)] = []
        var fileOfMount: [String: String] = [:]
        for name in names.sorted() {
            guard let mountPath = NativeConfigurationLoader.mountPath(forFileName: name) else { continue }
            let file = (directory as NSString).appendingPathComponent(name)
            var entryIsDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &entryIsDirectory), entryIsDirectory.boolValue
            {
                continue
            }
            if let other = fileOfMount[mountPath] {
                throw ConfigurationError(
                    file: file,
                    line: nil,
                    option: "",
                    message: "configures the mount \(mountPath), as \(other) does; keep one of the two files"
                )
            }
            fileOfMount[mountPath] = file
            files.append((mountPath, file))
        }
        return files
    }

    /// The UTF-8 text of `path`.
    private static func readText(_ path: String) throws(ConfigurationError) -> String {
        func failure(_ message: String) -> ConfigurationError {
            ConfigurationError(file: path, line: nil, option: "", message: message)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw failure("no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot be read (is it a directory, or are its permissions too strict?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw failure("is not UTF-8 text")
        }
        return text
    }
}
