import FloeCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The htpasswd files of listener authentication, parsed once and kept until they change.
///
/// A listener's check costs one `stat(2)` of the file (no read, no parse) unless the file changed since it was
/// last read: its inode, size or modification time (to the nanosecond) differ. An operator editing the file by
/// hand, or `manageauth`, is seen by the next listener. `reset()` (a reload) forgets every cached file.
///
/// Edits (`/admin/manageauth`) are serialised by one lock, so two admin requests cannot lose an update, and
/// atomic: the new file is written beside the old one and renamed over it, so a listener never reads half a file.
final class HTPasswdStore: Sendable {
    /// What identifies one version of a file on disk.
    private struct Version: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    private let cache = Mutex<[String: (version: Version, file: HTPasswd)]>([:])
    /// Held for a whole read-modify-write of `edit`.
    private let editLock = Mutex<Void>(())

    /// A file could not be read or written.
    struct FileError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): \(reason)" }
    }

    init() {}

    /// The users of the file at `path`, parsed again only when the file changed.
    func file(at path: String) throws(FileError) -> HTPasswd {
        let version = try Self.version(of: path)
        if let cached = cache.withLock({ $0[path] }), cached.version == version {
            return cached.file
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path: path, reason: "cannot be read")
        }
        // Read leniently: one line that is not UTF-8 (a Latin-1 user name) is that user's problem, not everyone's
        // (it refused every user; found by a probe). Edits stay strict, so as not to rewrite its bytes.
        let file = HTPasswd(contents: String(decoding: data, as: UTF8.self))
        // Stat again after reading: had the file changed meanwhile, the next check reads it once more. A file
        // modified in the last two seconds is not cached either: an edit in place (same inode and size) within the
        // file system's timestamp granularity would otherwise look unchanged ("racily clean", as Git calls it).
        if let after = try? Self.version(of: path), after == version,
            Double(version.modifiedSeconds) < Date().timeIntervalSince1970 - 2
        {
            cache.withLock { $0[path] = (version, file) }
        }
        return file
    }

    /// Reads the file's lines (none when it does not exist yet), lets `change` edit them, and when it returns
    /// `true` writes them back atomically. Edits of every file are serialised.
    func edit(at path: String, _ change: (inout [String]) -> Bool) throws(FileError) -> [String] {
        try editLock.withLock { _ throws(FileError) -> [String] in
            let existing: String
            if FileManager.default.fileExists(atPath: path) {
                guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw FileError(path: path, reason: "cannot be read as UTF-8")
                }
                existing = contents
            } else {
                existing = ""
            }
            var lines = existing.split(whereSeparator: \.isNewline).map(String.init)
            guard change(&lines) else { return lines }
            try Self.replace(path, with: lines.joined(separator: "\n") + "\n")
            cache.withLock { _ = $0.removeValue(forKey: path) }
            return lines
        }
    }

    /// Forgets every parsed file (a reload: files are read again on first use).
    func reset() {
        cache.withLock { $0.removeAll() }
    }

    /// Writes `text` to a temporary file in `path`'s directory, then renames it over `path`.
    private static func replace(_ path: String, with text: String) throws(FileError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: .min ... .max)).tmp").path
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
            throw FileError(path: path, reason: "cannot write \(temporary)")
        }
        // Keep the old file's permissions (it may hold hashes only its owner should read).
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let permissions = attributes[.posixPermissions]
        {
            try? FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: temporary)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileError(path: path, reason: "cannot rename the new file into place: \(reason)")
        }
    }

    private static func version(of path: String) throws(FileError) -> Version {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw FileError(path: path, reason: String(cString: strerror(errno)))
        }
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return Version(
            device: UInt64(info.st_dev),
            inode: UInt64(info.st_ino),
            size: Int64(info.st_size),
            modifiedSeconds: Int(modified.tv_sec),
            modifiedNanoseconds: Int(modified.tv_nsec)
        )
    }
}
