/// Something in a configuration file that Floe loaded but does not act on: an Icecast feature Floe does not
/// implement (`paths/logdir`, `mount[/live]/dump-file`), an element no Icecast version knows, or a block Icecast
/// itself would skip.
///
/// A warning never stops the server: an existing `icecast.xml` must load as it is, so a migration can start by
/// running Floe on the old file and reading these. Loaders report one warning per option path, in document order.
public struct ConfigurationWarning: Sendable, Equatable, CustomStringConvertible {
    /// Path of the option inside the file, e.g. `paths/logdir` or `mount[/live]/dump-file`.
    public var option: String
    /// What Floe does with it (usually: ignores it) and, where useful, why or what to use instead.
    public var message: String

    public init(option: String, message: String) {
        self.option = option
        self.message = message
    }

    /// `option: message`.
    public var description: String {
        "\(option): \(message)"
    }
}
