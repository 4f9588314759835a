/// Floe's version, as `floe --version` prints it and as Floe names itself to other servers (a relay's
/// `User-Agent`). Raised with each issue milestone that lands.
public enum FloeVersion {
    public static let string = "0.13"
}
