/// A configuration file that cannot be loaded: malformed syntax, or a value that has the wrong form or is out of
/// range (a port of 70000, a mount name without the leading `/`, the same mount defined twice).
///
/// Loaders throw this instead of guessing, because a server that starts with a silently different setting (a
/// default port, a missing password) is worse than one that refuses to start and says where the file is wrong.
/// Settings Floe merely does not implement are not errors; they become ``ConfigurationWarning``s.
///
/// `description` reads like a compiler diagnostic, so editors and terminals can jump to the place:
///
///     icecast.xml:12: limits/clients: expected an integer, got "abc"
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Name of the file, as the caller gave it (usually the path the user passed).
    public var file: String
    /// 1-based line of the offending element, when the parser knows it.
    public var line: Int?
    /// Path of the offending option inside the file, e.g. `limits/clients` or `mount[/live]/max-listeners`.
    /// Empty when the problem is the document as a whole (for example an empty file).
    public var option: String
    /// What is wrong, written for the person editing the file.
    public var message: String

    public init(file: String, line: Int?, option: String, message: String) {
        self.file = file
        self.line = line
        self.option = option
        self.message = message
    }

    /// `file:line: option: message`; the line and option parts are left out when unknown or empty.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
        }
        if !option.isEmpty {
            text += ": \(option)"
        }
        return text + ": \(message)"
    }
}
