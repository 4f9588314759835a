/// Icecast's stats tree: global values and one `SourceStatus` per mount, rendered the ways clients read it.
public struct StatusDocument: Sendable, Equatable {
    public var globals: [StatusValue]
    public var sources: [SourceStatus]

    public init(globals: [StatusValue], sources: [SourceStatus]) {
        self.globals = globals.sorted { $0.name < $1.name }
        self.sources = sources.sorted { $0.mount < $1.mount }
    }

    /// Globals `/status-json.xsl` leaves out (Icecast marks them hidden).
    static let hiddenGlobals: Set<String> = [
        "sources", "clients", "stats", "listeners", "client_connections", "connections", "file_connections",
        "listener_connections", "source_client_connections", "source_relay_connections", "source_total_connections",
        "stats_connections",
    ]
    /// Per-source values `/status-json.xsl` leaves out. `floe_measured_bitrate` stays: the public page shows it
    /// for a source that declared no bitrate.
    static let hiddenSourceValues: Set<String> = [
        "max_listeners", "public", "source_ip", "slow_listeners", "total_bytes_read", "total_bytes_sent", "user_agent",
        "floe_frames", "floe_garbage_bytes", "floe_id3_bytes", "floe_resyncs", "floe_pace", "floe_realtime_ratio",
    ]

    /// The whole tree as JSON (admin `stats` with `Accept: application/json` or `.json`): globals, and `sources`
    /// always an array, hidden mounts and values included; numbers as numbers. Floe's own document, so through
    /// `JSONEncoder`.
    public func adminJSON() -> String {
        var tree = Self.object(globals)
        tree["sources"] = .array(sources.map { source in
            var object = Self.object(source.values)
            object["mount"] = .string(source.mount)
            return .object(object)
        })
        return FloeJSON.encode(JSONValue.object(["icestats": .object(tree)]))
    }

    /// Values as JSON members, numbers as numbers.
    public static func object(_ values: [StatusValue]) -> [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        for value in values { object[value.name] = .scalar(value.value) }
        return object
    }

    /// `/status-json.xsl`, shaped as Icecast 2.4's: `source` is an object for one mount, an array for several and
    /// absent for none; hidden mounts and hidden values are left out; each object ends with `"dummy":null`;
    /// text that is a number is a JSON number. Unlike Icecast's, the output is always valid JSON (a title of `-`
    /// is a string).
    public func statusJSON() -> String {
        let globalsJSON = globals.filter { !Self.hiddenGlobals.contains($0.name) }.map(Self.member).joined(separator: ",")
        let visible = sources.filter { !$0.hidden }.map { source in
            let members = source.values.filter(Self.isPublic).map(Self.member)
            return "{" + (members + ["\"dummy\":null"]).joined(separator: ",") + "}"
        }
        var body = globalsJSON
        switch visible.count {
        case 0: break
        case 1: body += ",\"source\":" + visible[0]
        default: body += ",\"source\":[" + visible.joined(separator: ",") + "]"
        }
        return "{\"icestats\":{" + body + ",\"dummy\":null}}"
    }

    /// `/admin/stats` (and the body of other admin trees): `<icestats>` with globals, then `<source mount="…">`.
    /// `includeHidden` is true for admin views.
    public func statsXML(includeHidden: Bool = true) -> String {
        var xml = "<?xml version=\"1.0\"?>\n<icestats>"
        for value in globals { xml += "<\(value.name)>\(XMLText.escape(value.value))</\(value.name)>" }
        for source in sources where includeHidden || !source.hidden {
            xml += "<source mount=\"\(XMLText.escape(source.mount))\">"
            for value in source.values { xml += "<\(value.name)>\(XMLText.escape(value.value))</\(value.name)>" }
            xml += "</source>"
        }
        return xml + "</icestats>\n"
    }

    /// Whether `/status-json.xsl` shows a source value: not the hidden ones, nor a speaker output's figures
    /// (`floe_output_NAME_*`) other than its public SDP URL.
    static func isPublic(_ value: StatusValue) -> Bool {
        if value.name.hasPrefix("floe_output_") { return value.name.hasSuffix("_sdp") }
        return !hiddenSourceValues.contains(value.name)
    }

    static func member(_ value: StatusValue) -> String {
        "\"\(JSONText.escape(value.name))\":" + JSONText.scalar(value.value)
    }
}

/// Escaping for text placed in XML and HTML.
///
/// Whatever a source or a listener sent (a title, a stream name, a user agent, a mount name), the document stays
/// well-formed: markup characters become entities, and characters XML 1.0 forbids (U+0000–U+001F other than tab,
/// line feed and carriage return, U+FFFE, U+FFFF) become U+FFFD, the replacement character, so a reader still
/// sees that something was there.
public enum XMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out.unicodeScalars.append("\u{FFFD}")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// JSON strings and Icecast's number-looking values, for the documents written by hand to match Icecast
/// (`/status-json.xsl`).
public enum JSONText {
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A number when the text is a plain decimal integer or decimal (as xml2json.xslt does), else a string.
    public static func scalar(_ text: String) -> String {
        looksNumeric(text) ? text : "\"" + escape(text) + "\""
    }

    /// Whether Icecast's xml2json.xslt would write `text` as a number.
    public static func looksNumeric(_ text: String) -> Bool {
        !text.isEmpty && text.count < 16 && text.first != "+"
            && text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }
            && Double(text) != nil && !(text.hasPrefix("0") && text.count > 1 && !text.hasPrefix("0."))
            && text != "-"
    }
}
