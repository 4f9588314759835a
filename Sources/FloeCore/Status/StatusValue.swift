import Foundation

/// One statistic as Icecast's stats tree holds it: a name and a text value. Icecast renders the tree as XML
/// (`/admin/stats`) and, through `xml2json.xslt`, as JSON (`/status-json.xsl`), where text that looks like a
/// number becomes a JSON number. Keeping values as text reproduces both renderings from one model.
public struct StatusValue: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One mount in the status tree.
public struct SourceStatus: Sendable, Equatable {
    public var mount: String
    /// Statistics in name order (Icecast's tree is sorted).
    public var values: [StatusValue]
    /// Hidden from public status (`/status-json.xsl`, `/status.xsl`, `streamlist.txt`) but not from admin views.
    public var hidden: Bool

    public init(mount: String, values: [StatusValue], hidden: Bool) {
        self.mount = mount
        self.values = values.sorted { $0.name < $1.name }
        self.hidden = hidden
    }

    public func value(_ name: String) -> String? {
        values.first { $0.name == name }?.value
    }
}

/// Dates as Icecast prints them in stats.
public enum StatusDate {
    /// `Sat, 21 Nov 2026 15:21:57 +0000`.
    public static func rfc2822(_ date: Date) -> String {
        TimeFormat.utc(date, "%a, %d %b %Y %H:%M:%S +0000")
    }

    /// `2026-11-21T15:21:57+0000`.
    public static func iso8601(_ date: Date) -> String {
        TimeFormat.utc(date, "%Y-%m-%dT%H:%M:%S+0000")
    }

}
