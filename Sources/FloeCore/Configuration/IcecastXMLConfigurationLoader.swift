import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Loads an Icecast 2.4 `icecast.xml` into a ``ServerConfiguration``, so Floe can replace Icecast without the
/// operator rewriting the file first.
///
/// Loading happens in two steps: the text is parsed into a small element tree, then the tree is mapped section by
/// section with tables that say, per element name, how its value is applied or why Floe ignores it. Mapping a
/// tree instead of reacting to parser callbacks lets a rule see a whole element (a `<mount>`'s `<mount-name>`
/// before its other children, so `mount[/live]/dump-file` can be named even when `<dump-file>` comes first).
///
/// The contract, element by element, follows Icecast 2.4.4 (`src/cfgfile.c`):
/// - Every element Floe implements keeps Icecast's meaning. Where the file is silent, the model's `init` defaults
///   apply, not Icecast's; they differ in places (`limits/clients`: 10 000 in Floe, 256 in Icecast;
///   `limits/queue-size`: 512 KiB, 512 000 bytes). See ``ServerConfiguration/Limits``.
/// - Every element Floe does not implement (`<directory>`, `security/chroot`, `paths/basedir`, …) and every
///   element Icecast does not know becomes a ``ConfigurationWarning``: one per option path, in document order. A
///   feature Floe lacks never stops a file from loading. `<relay>` blocks are pulled, and with `<master-server>`
///   every mount of the master's stream list.
/// - Where Icecast reads garbage as 0 (`atoi`), Floe refuses: malformed XML, a value of the wrong form or out of
///   range, a mount name without its leading `/`, or a mount defined twice throw a ``ConfigurationError`` with the
///   file, line and option path. Starting with a silently different port or limit is worse than not starting.
/// - An empty element (`<password></password>`) counts as absent, as in Icecast (libxml2 gives it no text).
///   Other text is taken verbatim, surrounding whitespace included, as Icecast does; numbers may be padded.
/// - `<mount type="default">` fills in whatever a `<mount type="normal">` leaves unset. Icecast 2.4.4 does this
///   (`_merge_mounts_all` in `cfgfile.c`, and observed: a default mount's `<stream-name>` shows on a normal mount
///   that sets only `<stream-description>`), although its documentation says default mounts do not merge.
/// - A legacy `<listen-socket>` with `<shoutcast-compat>1` on port P becomes `shoutcastMount` of its partner socket
///   on P − 1 (Icecast requires that partner), using the socket's own `<shoutcast-mount>` or the global one.
/// - TLS as both Icecast versions write it: 2.4's `<listen-socket><ssl>1</ssl>` and `<paths><ssl-certificate>` (one
///   PEM with chain and key), `<paths><ssl-allowed-ciphers>`; 2.5's `<listen-socket><tls>MODE</tls>` (see
///   ``TLSMode`` for how its modes map) and `<security><tls-context>` with `<tls-certificate>`, `<tls-key>` and
///   `<tls-allowed-ciphers>` (2.5's `<paths><tls-certificate>` and `<paths><tls-allowed-ciphers>` too). A TLS
///   socket without a certificate is an error.
/// - The finished configuration goes through ``ConfigurationValidator``, as a native one does: a fallback loop is
///   an error here too.
public struct IcecastXMLConfigurationLoader: Sendable {
    public init() {}

    /// Parses an icecast.xml document. `fileName` is used in error messages.
    ///
    /// - Returns: the configuration, plus warnings for everything in the file that Floe ignores.
    /// - Throws: ``ConfigurationError`` for malformed XML, a root element other than `<icecast>`, or a value Floe
    ///   cannot use (see the type's documentation).
    /// Loads an icecast.xml file's bytes, decoded as its XML declaration says: UTF-8 unless it names ISO-8859-1
    /// (Latin-1) or windows-1252, as Icecast reads them through libxml2; a UTF-16 file is known by its byte-order
    /// mark. Any other declared encoding is an error.
    public func load(xmlData data: [UInt8], fileName: String) throws(ConfigurationError) -> LoadedConfiguration {
        try load(xml: Self.decode(data, fileName: fileName), fileName: fileName)
    }

    static func decode(_ data: [UInt8], fileName: String) throws(ConfigurationError) -> String {
        if data.starts(with: [0xFF, 0xFE]) || data.starts(with: [0xFE, 0xFF]) {
            guard let text = String(data: Data(data), encoding: .utf16) else {
                throw ConfigurationError(file: fileName, line: nil, option: "", message: "the file is not valid UTF-16")
            }
            return text
        }
        // The declaration is ASCII whatever the encoding: read its encoding="…" from the first line.
        let head = String(decoding: data.prefix(256).prefix { $0 != 0x0A }, as: UTF8.self)
        guard head.hasPrefix("<?xml") || head.hasPrefix("\u{FEFF}<?xml"),
            let name = head.firstMatch(of: #/encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/#)?.1.lowercased()
        else {
            return String(decoding: data, as: UTF8.self)
        }
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii":
            return String(decoding: data, as: UTF8.self)
        case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "iso_8859-1":
            return String(data: Data(data), encoding: .isoLatin1) ?? String(decoding: data, as: UTF8.self)
        case "windows-1252", "cp1252":
            return String(data: Data(data), encoding: .windowsCP1252) ?? String(decoding: data, as: UTF8.self)
        default:
            throw ConfigurationError(
                file: fileName, line: 1, option: "",
                message: "the declared encoding \"\(name)\" is not supported (UTF-8, ISO-8859-1 or windows-1252)"
            )
        }
    }

    public func load(xml: String, fileName: String) throws(ConfigurationError) -> LoadedConfiguration {
        let root = try XMLElementTreeBuilder.parse(xml, fileName: fileName)
        guard root.name == "icecast" else {
            throw ConfigurationError(
                file: fileName,
                line: root.line,
                option: root.name,
                message: "expected the root element <icecast>, found <\(root.name)>"
            )
        }
        var mapping = IcecastXMLMapping()
        var log = WarningLog()
        let document = ElementValue(element: root, path: "", fileName: fileName)
        try document.applyChildren(rules: IcecastXMLRules.root, to: &mapping, log: &log)
        let configuration = mapping.finish(log: &log)
        try mapping.checkTLS(fileName: fileName)
        let validatorWarnings = try ConfigurationValidator.validate(configuration) { mountPath, option in
            mapping.location(ofMount: mountPath, option: option, fileName: fileName)
        }
        return LoadedConfiguration(configuration: configuration, warnings: log.warnings + validatorWarnings)
    }
}

/// A loaded configuration file: the configuration, and what in the file Floe does not act on.
public struct LoadedConfiguration: Sendable, Equatable {
    /// The effective configuration; anything the file did not set has the model's default.
    public var configuration: ServerConfiguration
    /// Ignored options, one per option path, in document order. Meant to be logged at startup.
    public var warnings: [ConfigurationWarning]

    public init(configuration: ServerConfiguration, warnings: [ConfigurationWarning] = []) {
        self.configuration = configuration
        self.warnings = warnings
    }
}

// MARK: - Element tree

/// One element of the parsed document, reduced to what the mapping needs.
private struct XMLElementNode {
    var name: String
    var attributes: [String: String]
    var children: [XMLElementNode] = []
    /// Character data directly inside this element (text and CDATA, entities resolved), verbatim.
    var text: String = ""
    /// Line of the start tag (where it ends, for a tag spread over lines), for error messages.
    var line: Int
}

/// Builds an ``XMLElementNode`` tree from Foundation's event-based `XMLParser`.
///
/// `XMLParser.parse()` is not a reliable verdict: on Linux it returns `true` for a truncated document and reports
/// a later, vaguer error in `parserError`. The builder therefore keeps the first error the delegate sees, with the
/// line and the elements open at that moment, which is what a person needs to find the mistake.
private final class XMLElementTreeBuilder: NSObject, XMLParserDelegate {
    private var stack: [XMLElementNode] = []
    private var root: XMLElementNode?
    private var firstError: (line: Int, code: Int, open: [XMLElementNode], hadRoot: Bool)?

    /// Parses `xml` into a tree, or throws the first syntax error with its line and open elements.
    static func parse(_ xml: String, fileName: String) throws(ConfigurationError) -> XMLElementNode {
        let builder = XMLElementTreeBuilder()
        let safe: [UInt8]
        do {
            safe = try XMLProcessingInstructions.blankingEmpty(Array(xml.utf8))
        } catch {
            throw ConfigurationError(file: fileName, line: error.line, option: "", message: error.message)
        }
        let parser = XMLParser(data: Data(safe))
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        let finished = parser.parse()

        if let error = builder.firstError {
            throw ConfigurationError(
                file: fileName,
                line: error.line,
                // Paths in messages start below the root, like every other option path (`limits/clients`).
                option: error.open.dropFirst().map(\.name).joined(separator: "/"),
                message: "malformed XML: " + describe(code: error.code, open: error.open, hadRoot: error.hadRoot)
            )
        }
        guard finished, let root = builder.root else {
            throw ConfigurationError(
                file: fileName,
                line: nil,
                option: "",
                message: builder.root == nil ? "the document is empty" : "malformed XML"
            )
        }
        return root
    }

    /// A sentence for the libxml2 error codes people actually produce by hand-editing a file.
    private static func describe(code: Int, open: [XMLElementNode], hadRoot: Bool) -> String {
        let innermost = open.last.map { "<\($0.name)> opened on line \($0.line)" }
        switch code {
        case 5:
            if let innermost {
                return "the document ends before \(innermost) is closed"
            }
            return hadRoot ? "content after the root element's closing tag" : "the document has no root element"
        case 76:
            return "the closing tag does not match " + (innermost ?? "the open element")
        case 4: return "expected a start tag such as <icecast>"
        case 9: return "a character that XML does not allow"
        case 23: return "an entity reference is missing its ';' (write a literal & as &amp;)"
        case 26: return "an undeclared entity (write a literal & as &amp;)"
        case 38: return "'<' inside an attribute value (write it as &lt;)"
        case 39, 43: return "an attribute value must be quoted"
        case 40, 44: return "an attribute value is not closed"
        case 41: return "an attribute has no value"
        case 42: return "the same attribute is given twice"
        case 45: return "a comment is not closed with -->"
        case 63: return "a CDATA section is not closed with ]]>"
        case 68: return "expected a name (a literal & must be written &amp;, a literal < as &lt;)"
        case 73: return "expected '>'"
        case 77: return "a tag is not finished"
        case 80: return "a comment must not contain '--'"
        default: return "syntax error (libxml2 code \(code))"
        }
    }

    func parser(
        _ parser: XMLParser,
        didStartElement elementName: String,
        namespaceURI: String?,
        qualifiedName qName: String?,
        attributes attributeDict: [String: String]
    ) {
        stack.append(XMLElementNode(name: elementName, attributes: attributeDict, line: parser.lineNumber))
    }

    func parser(
        _ parser: XMLParser,
        didEndElement elementName: String,
        namespaceURI: String?,
        qualifiedName qName: String?
    ) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = root ?? element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA cdata: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: cdata, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        guard firstError == nil else { return }
        firstError = (parser.lineNumber, (parseError as NSError).code, stack, root != nil)
    }
}

// MARK: - Mapping tables

/// How one child element is applied to the value being built (`Target`), or why it is ignored.
///
/// The closures throw only ``ConfigurationError``s (from ``ElementValue``'s readers). They are declared with
/// untyped `throws` because Swift 6 does not infer a typed throw for a closure literal, and annotating every entry
/// would bury the tables; ``ElementValue/applyChildren(rules:to:log:)`` narrows the type again.
private enum ElementRule<Target>: Sendable {
    /// A leaf: reads the element's text through ``ElementValue`` and updates the target.
    case apply(@Sendable (inout Target, ElementValue) throws -> Void)
    /// A container: applies its own children, and may record warnings for them.
    case section(@Sendable (inout Target, ElementValue, inout WarningLog) throws -> Void)
    /// Known to Icecast, not implemented by Floe: ignored with a warning. The reason, if any, is shown to the user.
    case unsupported(String?)
}

/// Warnings in document order, at most one per option path.
private struct WarningLog {
    private(set) var warnings: [ConfigurationWarning] = []
    private var options: Set<String> = []

    /// Records a warning for `option`, unless that option already has one.
    mutating func warn(_ option: String, _ message: String) {
        guard options.insert(option).inserted else { return }
        warnings.append(ConfigurationWarning(option: option, message: message))
    }
}

/// An element handed to an ``ElementRule``, with its option path and the helpers that read its text as a typed
/// value, failing with a ``ConfigurationError`` that names the file, line and option.
private struct ElementValue {
    let element: XMLElementNode
    /// Option path, e.g. `limits/clients`; empty for the root element.
    let path: String
    let fileName: String

    /// The text, or `nil` for an empty element (which Icecast treats as absent).
    var string: String? {
        element.text.isEmpty ? nil : element.text
    }

    /// A child element, with its path below this one.
    func child(_ child: XMLElementNode) -> ElementValue {
        ElementValue(element: child, path: path.isEmpty ? child.name : "\(path)/\(child.name)", fileName: fileName)
    }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: fileName, line: element.line, option: path, message: message)
    }

    /// Applies `rules` to each child element in document order; children without a rule are warned about.
    func applyChildren<Target>(
        rules: [String: ElementRule<Target>],
        to target: inout Target,
        log: inout WarningLog
    ) throws(ConfigurationError) {
        for childElement in element.children {
            let value = child(childElement)
            switch rules[childElement.name] {
            case .apply(let apply)?:
                do { try apply(&target, value) } catch { throw Self.narrow(error, at: value) }
            case .section(let apply)?:
                do { try apply(&target, value, &log) } catch { throw Self.narrow(error, at: value) }
            case .unsupported(let reason)?:
                log.warn(value.path, "not supported by Floe; ignored" + (reason.map { " (\($0))" } ?? ""))
            case nil:
                log.warn(value.path, "unknown element; ignored")
            }
        }
    }

    /// A rule's error as a ``ConfigurationError``. Rules throw nothing else; should one ever do, the error is still
    /// reported against the element instead of crashing the loader.
    private static func narrow(_ error: any Error, at value: ElementValue) -> ConfigurationError {
        (error as? ConfigurationError) ?? value.error("\(error)")
    }

    /// The text quoted for messages, so stray whitespace is visible.
    private var quoted: String {
        "\"\(element.text)\""
    }

    /// The text as a whole number; whitespace around it is allowed, anything else is not (unlike Icecast's `atoi`,
    /// which reads `abc` as 0).
    func integer(atLeast minimum: Int? = nil) throws(ConfigurationError) -> Int {
        guard let value = Int(element.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw error("expected an integer, got \(quoted)")
        }
        if let minimum, value < minimum {
            throw error("expected an integer of at least \(minimum), got \(quoted)")
        }
        return value
    }

    /// An integer where -1 means "not set" (Icecast's convention for `max-listeners` and friends) and is `nil`.
    func integerOrUnset(meaningOfUnset: String) throws(ConfigurationError) -> Int? {
        let value = try integer()
        guard value >= -1 else {
            throw error("expected -1 (\(meaningOfUnset)) or a number of at least 0, got \(quoted)")
        }
        return value == -1 ? nil : value
    }

    /// A TCP port, 0 included (the kernel picks one; tests use it).
    func port() throws(ConfigurationError) -> Int {
        let value = try integer()
        guard (0...65535).contains(value) else {
            throw error("expected a port from 0 to 65535, got \(quoted)")
        }
        return value
    }

    /// A non-negative number of seconds. Icecast reads whole seconds; a fraction is accepted because the model
    /// keeps seconds as `Double`. Exponents, `inf` and `nan` are not.
    func seconds() throws(ConfigurationError) -> Double {
        let trimmed = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let isPlainDecimal = !trimmed.isEmpty && trimmed.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard isPlainDecimal, let value = Double(trimmed) else {
            throw error("expected a number of seconds, got \(quoted)")
        }
        return value
    }

    /// A burst or queue in seconds: greater than 0 (or at least 0), at most `StreamAmount.maximumSeconds`.
    func streamSeconds(allowingZero: Bool) throws(ConfigurationError) -> Double {
        let value = try seconds()
        guard allowingZero || value > 0, value <= StreamAmount.maximumSeconds else {
            throw error("expected seconds from \(allowingZero ? 0 : 0.001) to \(Int(StreamAmount.maximumSeconds)), got \(quoted)")
        }
        return value
    }

    /// An Icecast boolean: an integer, anything but 0 meaning yes. Words such as `yes` are refused, because
    /// Icecast would read them as 0, the opposite of what they say.
    func flag() throws(ConfigurationError) -> Bool {
        guard let value = Int(element.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw error("expected 0 or 1, got \(quoted)")
        }
        return value != 0
    }

    /// Icecast 2.5's `<tls>` mode, mapped as ``TLSMode`` describes; `0`/`1` and `off`/`on` also work.
    func tlsMode() throws(ConfigurationError) -> TLSMode {
        switch element.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "disabled", "off", "no", "false", "0": return .off
        case "auto": return .auto
        case "auto_no_plain", "rfc2817", "rfc2818", "on", "yes", "true", "1": return .on
        default: throw error("expected disabled, auto, auto_no_plain, rfc2817 or rfc2818, got \(quoted)")
        }
    }

    /// One of `choices`, exactly.
    func choice(_ choices: [String]) throws(ConfigurationError) -> String {
        let value = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard choices.contains(value) else {
            throw error("expected one of \(choices.joined(separator: ", ")), got \(quoted)")
        }
        return value
    }

    /// A mount path. It must start with `/`, as request paths do, or no client could ever reach the mount.
    func mountPath() throws(ConfigurationError) -> String {
        guard element.text.hasPrefix("/") else {
            throw error("a mount name must start with \"/\", got \(quoted)")
        }
        return element.text
    }
}

/// The rule tables, one per section, in Icecast's element names. Elements Icecast 2.4.4 reads but Floe does not
/// implement are listed as `.unsupported`, so their warning says so instead of calling them unknown.
private enum IcecastXMLRules {
    private static let reportsSource = "Floe reports what the source sends"
    private static let unprivileged = "run Floe as an unprivileged user instead, for example from systemd"

    static let root: [String: ElementRule<IcecastXMLMapping>] = [
        // An empty element leaves the field alone (`if let`): absent, the model's default applies.
        "hostname": .apply { mapping, value in
            if let hostname = value.string { mapping.configuration.hostname = hostname }
        },
        "location": .apply { mapping, value in
            if let location = value.string { mapping.configuration.location = location }
        },
        "admin": .apply { mapping, value in
            if let contact = value.string { mapping.configuration.adminContact = contact }
        },
        "server-id": .apply { mapping, value in
            if let serverID = value.string { mapping.configuration.serverID = serverID }
        },
        // Icecast 2.0 kept these three at the root; 2.4 still reads them.
        "source-password": .apply { mapping, value in
            mapping.configuration.authentication.sourcePassword = value.string
        },
        "port": .apply { mapping, value in
            mapping.rootSocket.port = try value.port()
            mapping.rootSocketLine = mapping.rootSocketLine ?? value.element.line
        },
        "bind-address": .apply { mapping, value in
            mapping.rootSocket.bindAddress = value.string
            mapping.rootSocketLine = mapping.rootSocketLine ?? value.element.line
        },
        "shoutcast-mount": .apply { mapping, value in mapping.globalShoutcastMount = try value.mountPath() },
        "listen-socket": .section { mapping, value, log in
            var draft = ListenSocketDraft(line: value.element.line)
            try value.applyChildren(rules: listenSocket, to: &draft, log: &log)
            mapping.sockets.append(draft)
        },
        "limits": .section { mapping, value, log in
            try value.applyChildren(rules: limits, to: &mapping.configuration.limits, log: &log)
        },
        "authentication": .section { mapping, value, log in
            try value.applyChildren(rules: authentication, to: &mapping.configuration.authentication, log: &log)
        },
        "http-headers": .section { mapping, value, log in
            mapping.configuration.httpHeaders += try headerRules(in: value, log: &log)
        },
        "mount": .section { mapping, value, log in try mapping.applyMount(value, log: &log) },
        "paths": .section { mapping, value, log in
            try value.applyChildren(rules: paths, to: &mapping, log: &log)
        },
        "logging": .section { mapping, value, log in
            try value.applyChildren(rules: logging, to: &mapping.configuration.logging, log: &log)
        },
        "security": .section { mapping, value, log in
            try value.applyChildren(rules: security, to: &mapping, log: &log)
        },
        "fileserve": .apply { mapping, value in mapping.configuration.fileserve = try value.flag() },
        // icecast-kh's trusted proxy, one address or wildcard per element.
        "x-forwarded-for": .apply { mapping, value in
            guard let text = value.string else { return }
            guard let pattern = AddressPattern(text) else {
                throw value.error("\"\(text)\" is not an address, a CIDR range (10.0.0.0/8) or a wildcard (192.168.1.*)")
            }
            mapping.configuration.trustedProxies.patterns.append(pattern)
        },
        // Beyond Icecast, named like the native options.
        "floe-client-address-header": .apply { mapping, value in
            mapping.configuration.clientAddressHeader =
                .init(rawValue: try value.choice(ForwardedClientAddress.Header.allCases.map(\.rawValue)))!
        },
        "floe-metrics-access": .apply { mapping, value in
            mapping.configuration.metricsAccess =
                .init(rawValue: try value.choice(ServerConfiguration.MetricsAccess.allCases.map(\.rawValue)))!
        },
        "floe-source-credentials": .apply { mapping, value in
            mapping.configuration.sourceCredentials =
                .init(rawValue: try value.choice(ServerConfiguration.SourceCredentialsScope.allCases.map(\.rawValue)))!
        },
        "mime-types": .unsupported(nil),
        "icelogin": .unsupported("the Icecast 1 source login is not implemented"),
        "directory": .unsupported("Floe does not list streams in YP directories"),
        "relay": .section { mapping, value, log in
            var draft = RelayDraft()
            try value.applyChildren(rules: relay, to: &draft, log: &log)
            mapping.relays.append(draft)
        },
        "relays-on-demand": .apply { mapping, value in
            mapping.configuration.relay.relaysOnDemand = try value.flag()
        },
        "master-server": .apply { mapping, value in
            mapping.configuration.relay.masterServer = value.string
        },
        "master-server-port": .apply { mapping, value in
            mapping.configuration.relay.masterServerPort = try value.port()
        },
        "master-username": .apply { mapping, value in
            if let user = value.string { mapping.configuration.relay.masterUsername = user }
        },
        "master-password": .apply { mapping, value in
            mapping.configuration.relay.masterPassword = value.string
        },
        "master-update-interval": .apply { mapping, value in
            mapping.configuration.relay.masterUpdateInterval = try value.seconds()
        },
    ]

    /// A `<relay>`, with `on-demand` left open until `<relays-on-demand>` is known. Icecast 2.4 writes one
    /// upstream as children of `<relay>`; Icecast 2.5 writes `<upstream>` elements, tried in document order, with
    /// an optional `<upstream type="default">` whose values fill what the others leave out.
    struct RelayDraft {
        /// The 2.4 form's upstream, and the default for 2.5's.
        var flat = UpstreamDraft()
        var upstreams: [UpstreamDraft] = []
        var defaults = UpstreamDraft()
        var localMount: String?
        var onDemand: Bool?
        var relayMetadata: Bool?
        var hold: Double?
        var yieldsToSource = false

        /// The relay's upstreams: the 2.5 list, or the one upstream of the 2.4 form.
        var resolvedUpstreams: [ServerConfiguration.RelayUpstream] {
            let base = defaults.filling(from: flat)
            return (upstreams.isEmpty ? [flat] : upstreams.map { $0.filling(from: base) }).map(\.upstream)
        }

        /// The remote mount of the first upstream, which a relay without `<local-mount>` serves under.
        var firstMount: String { (upstreams.first?.filling(from: defaults.filling(from: flat)) ?? flat).mount ?? "/" }
    }

    /// One upstream as written; unset values come from the default upstream, then Icecast's defaults.
    struct UpstreamDraft {
        var server: String?
        var port: Int?
        var mount: String?
        var uri: String?
        var username: String?
        var password: String?
        var relayMetadata: Bool?

        func filling(from other: UpstreamDraft) -> UpstreamDraft {
            UpstreamDraft(
                server: server ?? other.server, port: port ?? other.port, mount: mount ?? other.mount,
                uri: uri ?? other.uri, username: username ?? other.username, password: password ?? other.password,
                relayMetadata: relayMetadata ?? other.relayMetadata
            )
        }

        var upstream: ServerConfiguration.RelayUpstream {
            if let uri {
                return ServerConfiguration.RelayUpstream(url: uri, username: username, password: password)
            }
            // Icecast's defaults: 127.0.0.1 and `/`; Floe's port default is 8000 (Icecast 2.4 uses 0 and fails).
            return ServerConfiguration.RelayUpstream(
                server: server ?? "127.0.0.1", port: port ?? 8000, mount: mount ?? "/", username: username, password: password
            )
        }
    }

    private static let upstreamFields: [String: ElementRule<UpstreamDraft>] = [
        "server": .apply { draft, value in draft.server = value.string },
        "port": .apply { draft, value in draft.port = try value.port() },
        "mount": .apply { draft, value in draft.mount = try value.mountPath() },
        "uri": .apply { draft, value in draft.uri = value.string },
        "username": .apply { draft, value in draft.username = value.string },
        "password": .apply { draft, value in draft.password = value.string },
        "relay-shoutcast-metadata": .apply { draft, value in draft.relayMetadata = try value.flag() },
        "bind": .unsupported(nil),
    ]

    static let relay: [String: ElementRule<RelayDraft>] = [
        "server": .apply { draft, value in draft.flat.server = value.string },
        "port": .apply { draft, value in draft.flat.port = try value.port() },
        "mount": .apply { draft, value in draft.flat.mount = try value.mountPath() },
        "username": .apply { draft, value in draft.flat.username = value.string },
        "password": .apply { draft, value in draft.flat.password = value.string },
        "local-mount": .apply { draft, value in draft.localMount = try value.mountPath() },
        "on-demand": .apply { draft, value in draft.onDemand = try value.flag() },
        "relay-shoutcast-metadata": .apply { draft, value in draft.relayMetadata = try value.flag() },
        "bind": .unsupported(nil),
        // Beyond Icecast, named like the native options.
        "floe-hold": .apply { draft, value in draft.hold = try value.seconds() },
        "floe-yield-to-source": .apply { draft, value in draft.yieldsToSource = try value.flag() },
        "upstream": .section { draft, value, log in
            var upstream = UpstreamDraft()
            try value.applyChildren(rules: upstreamFields, to: &upstream, log: &log)
            // One setting per relay in Floe: the first upstream that says decides.
            if draft.relayMetadata == nil, let metadata = upstream.relayMetadata { draft.relayMetadata = metadata }
            if value.element.attributes["type"] == "default" {
                draft.defaults = upstream
            } else {
                draft.upstreams.append(upstream)
            }
        },
    ]

    static let limits: [String: ElementRule<ServerConfiguration.Limits>] = [
        "clients": .apply { limits, value in limits.clients = try value.integer(atLeast: 0) },
        "sources": .apply { limits, value in limits.sources = try value.integer(atLeast: 0) },
        "queue-size": .apply { limits, value in limits.queueSize = try value.integer(atLeast: 0) },
        "burst-size": .apply { limits, value in limits.burstSize = try value.integer(atLeast: 0) },
        // Deprecated: 0 turns bursting off, anything else changes nothing. Elements apply in document order, so a
        // later <burst-size> still wins, as in Icecast.
        "burst-on-connect": .apply { limits, value in
            if try !value.flag() {
                limits.burstSize = 0
            }
        },
        "header-timeout": .apply { limits, value in limits.headerTimeout = try value.seconds() },
        "source-timeout": .apply { limits, value in limits.sourceTimeout = try value.seconds() },
        "floe-max-listeners-per-ip": .apply { limits, value in limits.maxListenersPerIP = try value.integer(atLeast: 1) },
        "floe-max-pending-per-ip": .apply { limits, value in limits.maxPendingPerIP = try value.integer(atLeast: 0) },
        "floe-burst-duration": .apply { limits, value in limits.burstDuration = try value.streamSeconds(allowingZero: true) },
        "floe-queue-duration": .apply { limits, value in limits.queueDuration = try value.streamSeconds(allowingZero: false) },
        "client-timeout": .unsupported("Icecast does not use it either"),
        "threadpool": .unsupported("Icecast ignores it too"),
    ]

    static let authentication: [String: ElementRule<ServerConfiguration.Authentication>] = [
        "source-password": .apply { authentication, value in
            // Icecast 2.4 logs an error and skips this form. Taking it as the global password would open every
            // mount with a password meant for one, so Floe refuses it.
            if let mount = value.element.attributes["mount"] {
                throw value.error(
                    "a source password for one mount (mount=\"\(mount)\") belongs in that mount's "
                        + "<mount><password>, not in the global <authentication>"
                )
            }
            authentication.sourcePassword = value.string
        },
        "admin-user": .apply { authentication, value in
            if let user = value.string { authentication.adminUser = user }
        },
        "admin-password": .apply { authentication, value in authentication.adminPassword = value.string },
        "relay-user": .apply { authentication, value in
            if let user = value.string { authentication.relayUser = user }
        },
        "relay-password": .apply { authentication, value in authentication.relayPassword = value.string },
    ]

    static let listenSocket: [String: ElementRule<ListenSocketDraft>] = [
        "port": .apply { draft, value in draft.socket.port = try value.port() },
        "bind-address": .apply { draft, value in draft.socket.bindAddress = value.string },
        "shoutcast-mount": .apply { draft, value in draft.socket.shoutcastMount = try value.mountPath() },
        "shoutcast-compat": .apply { draft, value in draft.isShoutcastCompatible = try value.flag() },
        // Icecast 2.4 reads `<ssl>` with atoi: any number but 0 makes the socket TLS-only.
        "ssl": .apply { draft, value in
            draft.socket.tls = try value.flag() ? .on : .off
            draft.tlsLine = value.element.line
        },
        "tls": .apply { draft, value in
            draft.socket.tls = try value.tlsMode()
            draft.tlsLine = value.element.line
        },
        "so-sndbuf": .unsupported(nil),
    ]

    static let mount: [String: ElementRule<MountConfiguration>] = [
        // Read before the other children, by IcecastXMLMapping.applyMount.
        "mount-name": .apply { _, _ in },
        "username": .apply { mount, value in mount.username = value.string },
        "password": .apply { mount, value in mount.password = value.string },
        "max-listeners": .apply { mount, value in
            mount.maxListeners = try value.integerOrUnset(meaningOfUnset: "unlimited")
        },
        "floe-max-listeners-per-ip": .apply { mount, value in mount.maxListenersPerIP = try value.integer(atLeast: 1) },
        "floe-burst-duration": .apply { mount, value in mount.burstDuration = try value.streamSeconds(allowingZero: true) },
        "floe-queue-duration": .apply { mount, value in mount.queueDuration = try value.streamSeconds(allowingZero: false) },
        "stream-name": .apply { mount, value in mount.streamName = value.string },
        "stream-description": .apply { mount, value in mount.streamDescription = value.string },
        "stream-url": .apply { mount, value in mount.streamURL = value.string },
        "genre": .apply { mount, value in mount.genre = value.string },
        "mp3-metadata-interval": .apply { mount, value in
            mount.metadataInterval = try value.integerOrUnset(meaningOfUnset: "the server's interval")
        },
        "burst-size": .apply { mount, value in
            mount.burstSize = try value.integerOrUnset(meaningOfUnset: "the global burst size")
        },
        // Icecast reads 0 as "not set" for these two (source.c applies only non-zero values).
        "queue-size": .apply { mount, value in
            let size = try value.integer(atLeast: 0)
            mount.queueSize = size == 0 ? nil : size
        },
        "source-timeout": .apply { mount, value in
            let timeout = try value.seconds()
            mount.sourceTimeout = timeout == 0 ? nil : timeout
        },
        "fallback-mount": .apply { mount, value in mount.fallbackMount = value.string },
        "fallback-override": .apply { mount, value in mount.fallbackOverride = try value.flag() },
        "fallback-when-full": .apply { mount, value in mount.fallbackWhenFull = try value.flag() },
        // Icecast reads 0 as "no limit".
        "max-listener-duration": .apply { mount, value in
            let duration = try value.seconds()
            mount.maxListenerDuration = duration == 0 ? nil : duration
        },
        "intro": .apply { mount, value in mount.intro = value.string },
        "dump-file": .apply { mount, value in mount.dumpFile = value.string },
        "on-connect": .apply { mount, value in mount.onConnect = value.string },
        "on-disconnect": .apply { mount, value in mount.onDisconnect = value.string },
        "type": .apply { mount, value in mount.type = value.string },
        "bitrate": .apply { mount, value in mount.bitrate = value.string },
        "http-headers": .section { mount, value, log in mount.httpHeaders += try headerRules(in: value, log: &log) },
        "authentication": .section { mount, value, log in
            mount.listenerAuthentication = try listenerAuthentication(in: value, log: &log)
        },
        "hidden": .apply { mount, value in mount.hidden = try value.flag() },
        "public": .apply { mount, value in
            let visibility = try value.integer()
            guard (-1...1).contains(visibility) else {
                throw value.error("expected -1 (the source decides), 0 or 1, got \"\(value.element.text)\"")
            }
            mount.public = visibility == -1 ? nil : visibility
        },
        // Deprecated spelling of <public>0</public>; <no-yp>0</no-yp> leaves the choice to the source.
        "no-yp": .apply { mount, value in mount.public = try value.flag() ? 0 : nil },
        "charset": .apply { mount, value in mount.charset = value.string },
        // Floe's own: this mount transcoded from another (`<floe-transcode from="/live" bitrate="64"/>`), with the
        // native format's option names as attributes. Icecast ignores the element.
        "floe-transcode": .apply { mount, value in
            let options = value.element.attributes.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
            do throws(TranscodeConfiguration.OptionError) {
                mount.transcode = try TranscodeConfiguration(options: options)
            } catch {
                throw value.error("\(error.option): \(error.message)")
            }
        },
        // Floe's own: a speaker output, written as attributes with the native format's option names
        // (`<floe-output type="rtp" mode="mpa" address="239.255.0.1" port="5004"/>`). Icecast ignores the element.
        "floe-output": .apply { mount, value in
            let options = value.element.attributes.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
            let output: SpeakerOutputConfiguration
            do throws(SpeakerOutputConfiguration.OptionError) {
                output = try SpeakerOutputConfiguration(options: options) { type in
                    "\(type)\(mount.outputs.filter { $0.typeName == type }.count + 1)"
                }
            } catch {
                throw value.error((error.option.isEmpty ? "" : "\(error.option): ") + error.message)
            }
            guard !mount.outputs.contains(where: { $0.name == output.name }) else {
                throw value.error("another output of this mount is already named \"\(output.name)\"; names must differ")
            }
            mount.outputs.append(output)
        },
        // Floe's own: HLS settings as attributes with the native format's names
        // (`<floe-hls enabled="1" segment-duration="2" window="6" part-duration="0.5"/>`; part-duration="0": no parts).
        "floe-hls": .apply { mount, value in
            var settings = HLSConfiguration()
            for (name, text) in value.element.attributes.sorted(by: { $0.key < $1.key }) {
                func seconds(atLeast minimum: Double) throws(ConfigurationError) -> Duration {
                    guard let number = Double(text), number.isFinite, number >= minimum, number <= 60 else {
                        throw value.error("\(name): expected seconds from \(minimum) to 60, got \"\(text)\"")
                    }
                    return .milliseconds(Int64((number * 1000).rounded()))
                }
                switch name {
                case "enabled":
                    switch text.lowercased() {
                    case "1", "true", "yes", "on": settings.enabled = true
                    case "0", "false", "no", "off": settings.enabled = false
                    default: throw value.error("enabled: expected 1 or 0, got \"\(text)\"")
                    }
                case "segment-duration":
                    settings.segmentDuration = try seconds(atLeast: 0.1)
                case "window":
                    guard let window = Int(text), window >= HLSConfiguration.minimumWindow, window <= 1000 else {
                        throw value.error("window: expected \(HLSConfiguration.minimumWindow) to 1000 segments, got \"\(text)\"")
                    }
                    settings.window = window
                case "format":
                    guard let format = HLSConfiguration.Format(rawValue: text) else {
                        throw value.error("format: expected ts or packed, got \"\(text)\"")
                    }
                    settings.format = format
                case "part-duration":
                    settings.partDuration = ["0", "off", "false", "no"].contains(text.lowercased()) ? nil : try seconds(atLeast: 0.2)
                default:
                    throw value.error("unknown attribute \"\(name)\" (enabled, segment-duration, window, part-duration, format)")
                }
            }
            if let part = settings.partDuration, part > settings.segmentDuration {
                throw value.error("part-duration is longer than segment-duration")
            }
            mount.hls = settings
        },
        "no-mount": .unsupported(nil),
        "cluster-password": .unsupported(nil),
        "subtype": .unsupported(reportsSource),
    ]

    /// A mount's `<authentication type="htpasswd|url">` with its `<option name="…" value="…"/>` children.
    ///
    /// A type Floe does not know is a warning and leaves the mount open, as Icecast does for a type it was built
    /// without. Options that would make the mount unusable are errors instead: an htpasswd block without its file
    /// would admit everyone in Icecast (it drops the authenticator), which is the opposite of what was asked.
    static func listenerAuthentication(
        in value: ElementValue,
        log: inout WarningLog
    ) throws(ConfigurationError) -> ListenerAuthentication? {
        let type = value.element.attributes["type"] ?? ""
        var options: [(name: String, value: String, option: ElementValue)] = []
        for element in value.element.children {
            let child = value.child(element)
            guard element.name == "option" else {
                log.warn(child.path, "unknown element; ignored (only <option> belongs in <authentication>)")
                continue
            }
            guard let name = element.attributes["name"], !name.isEmpty else {
                throw child.error("an <option> needs a name=\"…\" attribute")
            }
            options.append((name, element.attributes["value"] ?? "", child))
        }
        func warnUnknown(_ option: (name: String, value: String, option: ElementValue), _ reason: String) {
            log.warn("\(value.path)/option[\(option.name)]", reason)
        }

        switch type {
        case "htpasswd":
            var filename: String?
            var allowDuplicateUsers = true
            for option in options {
                switch option.name {
                case "filename": filename = option.value.isEmpty ? nil : option.value
                case "allow_duplicate_users":
                    guard let number = Int(option.value.trimmingCharacters(in: .whitespaces)) else {
                        throw option.option.error("allow_duplicate_users: expected 0 or 1, got \"\(option.value)\"")
                    }
                    allowDuplicateUsers = number != 0
                default: warnUnknown(option, "unknown htpasswd option; ignored")
                }
            }
            guard let filename else {
                throw value.error("htpasswd authentication needs <option name=\"filename\" value=\"…\"/>")
            }
            return .htpasswd(HTPasswdOptions(filename: filename, allowDuplicateUsers: allowDuplicateUsers))

        case "url":
            var url = URLAuthenticationOptions()
            for option in options {
                let text = option.value.isEmpty ? nil : option.value
                switch option.name {
                case "listener_add": url.listenerAdd = text
                case "listener_remove": url.listenerRemove = text
                case "username": url.username = text
                case "password": url.password = text
                case "auth_header": if let text { url.authHeader = text }
                case "timelimit_header": if let text { url.timelimitHeader = text }
                case "headers":
                    url.headers = option.value.split(separator: ",").map {
                        $0.trimmingCharacters(in: .whitespaces)
                    }.filter { !$0.isEmpty }
                case "header_prefix": if let text { url.headerPrefix = text }
                case "mount_add", "mount_remove", "stream_auth":
                    warnUnknown(option, "not supported by Floe; ignored (only listener authentication is implemented)")
                default: warnUnknown(option, "unknown URL authentication option; ignored")
                }
            }
            return .url(url)

        default:
            let which = type.isEmpty ? "an <authentication> without type=\"…\"" : "authentication type \"\(type)\""
            log.warn(value.path, "\(which) is not supported by Floe; the mount is open to every listener")
            return nil
        }
    }

    static let paths: [String: ElementRule<IcecastXMLMapping>] = [
        "webroot": .apply { mapping, value in if let webroot = value.string { mapping.configuration.paths.webroot = webroot } },
        "logdir": .apply { mapping, value in if let logdir = value.string { mapping.configuration.paths.logdir = logdir } },
        "pidfile": .apply { mapping, value in mapping.configuration.paths.pidfile = value.string },
        // `<alias source="/" destination="/status.xsl"/>`. Floe has no per-socket aliases, so one limited to a
        // port or address is skipped rather than applied everywhere.
        "alias": .section { mapping, value, log in
            let attributes = value.element.attributes
            if attributes["port"] != nil || attributes["bind-address"] != nil {
                log.warn(value.path, "aliases limited to a port or bind-address are not supported; alias ignored")
                return
            }
            guard let source = attributes["source"], let destination = attributes["destination"] else {
                throw value.error("an <alias> needs source=\"…\" and destination=\"…\" attributes")
            }
            guard source.hasPrefix("/"), destination.hasPrefix("/") else {
                throw value.error("alias source and destination must start with \"/\"")
            }
            mapping.configuration.paths.aliases.append(ServerConfiguration.Alias(source: source, destination: destination))
        },
        "basedir": .unsupported(nil),
        "adminroot": .unsupported(nil),
        "allow-ip": .apply { mapping, value in mapping.configuration.paths.allowIPFile = value.string },
        "deny-ip": .apply { mapping, value in mapping.configuration.paths.denyIPFile = value.string },
        // Icecast 2.4's names; 2.5 still reads them (and its own tls- names here), preferring <security><tls-context>.
        "ssl-certificate": .apply { mapping, value in mapping.tls.certificateFile = value.string },
        "tls-certificate": .apply { mapping, value in mapping.tls.certificateFile = value.string },
        "ssl-allowed-ciphers": .apply { mapping, value in mapping.tls.allowedCiphers = value.string },
        "tls-allowed-ciphers": .apply { mapping, value in mapping.tls.allowedCiphers = value.string },
    ]

    /// Icecast 2.5's `<security><tls-context>`.
    static let tlsContext: [String: ElementRule<IcecastXMLMapping>] = [
        "tls-certificate": .apply { mapping, value in mapping.tls.certificateFile = value.string },
        "tls-key": .apply { mapping, value in mapping.tls.keyFile = value.string },
        "tls-allowed-ciphers": .apply { mapping, value in mapping.tls.allowedCiphers = value.string },
    ]

    static let logging: [String: ElementRule<ServerConfiguration.Logging>] = [
        "accesslog": .apply { logging, value in logging.accessLog = value.string },
        "errorlog": .apply { logging, value in if let errorLog = value.string { logging.errorLog = errorLog } },
        "loglevel": .apply { logging, value in
            let levels = [1: "error", 2: "warning", 3: "info", 4: "debug"]
            guard let level = levels[try value.integer()] else {
                throw value.error("expected 1 (error), 2 (warn), 3 (info) or 4 (debug), got \"\(value.element.text)\"")
            }
            logging.level = level
        },
        "playlistlog": .unsupported(nil),
        "logsize": .unsupported(nil),
        "logarchive": .unsupported(nil),
    ]

    static let security: [String: ElementRule<IcecastXMLMapping>] = [
        "chroot": .unsupported(unprivileged),
        "changeowner": .unsupported(unprivileged),
        "tls-context": .section { mapping, value, log in
            try value.applyChildren(rules: tlsContext, to: &mapping, log: &log)
        },
    ]

    /// Global `<http-headers>`: each `<header name="…" value="…" [status="…"] [type="static"]/>`, in order.
    static func headerRules(
        in value: ElementValue,
        log: inout WarningLog
    ) throws(ConfigurationError) -> [ServerConfiguration.HTTPHeaderRule] {
        var rules: [ServerConfiguration.HTTPHeaderRule] = []
        for element in value.element.children {
            let header = value.child(element)
            guard element.name == "header" else {
                log.warn(header.path, "unknown element; ignored (only <header> belongs in <http-headers>)")
                continue
            }
            guard let name = element.attributes["name"], !name.isEmpty else {
                throw header.error("a <header> needs a name=\"…\" attribute")
            }
            guard let headerValue = element.attributes["value"] else {
                throw header.error("the <header> \"\(name)\" needs a value=\"…\" attribute")
            }
            // A line break would split the HTTP response the header is written into.
            if (name + headerValue).unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
                throw header.error("the <header> \"\(name)\" must not contain line breaks")
            }
            if let type = element.attributes["type"], type != "static" {
                // Icecast 2.4 knows only "static" and skips the others.
                log.warn("\(header.path)[\(name)]", "header type \"\(type)\" is not supported; header ignored")
                continue
            }
            var status: Int?
            if let text = element.attributes["status"] {
                let code = Int(text.trimmingCharacters(in: .whitespaces))
                guard let code, code == 0 || (100...599).contains(code) else {
                    throw header.error("the <header> \"\(name)\" has status=\"\(text)\"; expected an HTTP status code")
                }
                status = code == 0 ? nil : code  // Icecast: 0 means every response.
            }
            rules.append(ServerConfiguration.HTTPHeaderRule(name: name, value: headerValue, status: status))
        }
        return rules
    }
}

// MARK: - Mapping

/// A `<listen-socket>` while it is being read: the model's socket plus Icecast's legacy `shoutcast-compat` flag,
/// which can only be resolved once every socket is known.
private struct ListenSocketDraft {
    var socket = ServerConfiguration.ListenSocket()
    var isShoutcastCompatible = false
    /// Line of its `<ssl>` or `<tls>`, for the error about a missing certificate.
    var tlsLine: Int?
    /// Line of the `<listen-socket>` element, for warnings.
    var line: Int
}

/// The state of one load: the configuration as far as it is known, and what depends on the whole document.
private struct IcecastXMLMapping {
    var configuration = ServerConfiguration()

    /// Sockets from `<listen-socket>` elements, in document order.
    var sockets: [ListenSocketDraft] = []
    /// The socket of a root `<port>`/`<bind-address>`; Icecast opens it only when there is no `<listen-socket>`.
    var rootSocket = ServerConfiguration.ListenSocket()
    /// Line of the first root `<port>`/`<bind-address>`, if any.
    var rootSocketLine: Int?
    /// Root `<shoutcast-mount>`: the mount for `shoutcast-compat` sockets that name none themselves.
    var globalShoutcastMount = "/stream"

    /// The certificate, key and ciphers, wherever the file names them.
    var tls = TLSDraft()

    struct TLSDraft {
        var certificateFile: String?
        var keyFile: String?
        var allowedCiphers: String?
    }

    /// `<relay>` blocks, resolved against `<relays-on-demand>` at the end.
    var relays: [IcecastXMLRules.RelayDraft] = []

    /// Line of the `<mount type="default">` in use; Icecast uses the first one.
    private var defaultMountLine: Int?
    /// Line of each normal mount's `<mount-name>`, to report duplicates.
    private var mountNameLines: [String: Int] = [:]

    /// One `<mount>`: a normal mount keyed by its `<mount-name>`, or the default mount. Its path in messages is
    /// `mount[/name]` or `mount[default]`, known before any child is read because the whole element is at hand.
    mutating func applyMount(_ value: ElementValue, log: inout WarningLog) throws(ConfigurationError) {
        let element = value.element
        let nameElement = element.children.last { $0.name == "mount-name" }
        let type = element.attributes["type"] ?? "normal"
        var mount = MountConfiguration()

        switch type {
        case "normal":
            guard let nameElement else {
                log.warn("mount/mount-name", "missing: the <mount> on line \(element.line) is ignored, as in Icecast")
                return
            }
            let name = try value.child(nameElement).mountPath()
            if let firstLine = mountNameLines[name] {
                throw value.child(nameElement).error("mount \"\(name)\" is already defined on line \(firstLine)")
            }
            mountNameLines[name] = nameElement.line
            let labelled = ElementValue(element: element, path: "mount[\(name)]", fileName: value.fileName)
            try labelled.applyChildren(rules: IcecastXMLRules.mount, to: &mount, log: &log)
            configuration.mounts[name] = mount

        case "default":
            if let firstLine = defaultMountLine {
                log.warn(
                    "mount[default]",
                    "only the first <mount type=\"default\"> (line \(firstLine)) is used; "
                        + "the one on line \(element.line) is ignored, as in Icecast"
                )
                return
            }
            defaultMountLine = element.line
            if let nameElement {
                // Icecast matches a named default mount as a pattern and calls that unsupported. Floe has one
                // default for every mount; applying it everywhere is the stricter reading of its passwords.
                log.warn(
                    "mount[default]/mount-name",
                    "Floe applies the default mount to every mount; the pattern \"\(nameElement.text)\" is ignored"
                )
            }
            let labelled = ElementValue(element: element, path: "mount[default]", fileName: value.fileName)
            try labelled.applyChildren(rules: IcecastXMLRules.mount, to: &mount, log: &log)
            configuration.defaultMount = mount

        default:
            log.warn(
                "mount[\(type)]",
                "unknown mount type \"\(type)\", so the <mount> on line \(element.line) is ignored, as in Icecast"
            )
        }
    }

    /// Resolves what depends on the whole document and returns the configuration.
    mutating func finish(log: inout WarningLog) -> ServerConfiguration {
        configuration.listenSockets = resolveListenSockets(log: &log)
        if let ciphers = tls.allowedCiphers, let warning = TLSCipherList(ciphers).warning {
            log.warn("ssl-allowed-ciphers", warning)
        }
        if let certificateFile = tls.certificateFile {
            configuration.tls = TLSCertificateSettings(
                certificateFile: certificateFile,
                keyFile: tls.keyFile,
                allowedCiphers: tls.allowedCiphers
            )
        } else if tls.keyFile != nil || tls.allowedCiphers != nil {
            log.warn("security/tls-context", "a TLS key or cipher list without a certificate is ignored")
        }
        for (name, mount) in configuration.mounts {
            configuration.mounts[name] = mount.filled(from: configuration.defaultMount, mountPath: name)
        }
        configuration.relay.relays = relays.map { draft in
            ServerConfiguration.Relay(
                upstreams: draft.resolvedUpstreams,
                localMount: draft.localMount ?? draft.firstMount,
                onDemand: draft.onDemand ?? configuration.relay.relaysOnDemand,
                relayMetadata: draft.relayMetadata ?? true,
                hold: draft.hold ?? 10,
                yieldsToSource: draft.yieldsToSource
            )
        }

        return configuration
    }

    /// A TLS socket needs a certificate; Icecast would start and fail every handshake.
    func checkTLS(fileName: String) throws(ConfigurationError) {
        guard configuration.tls == nil, let draft = sockets.first(where: { $0.socket.tls != .off }) else { return }
        throw ConfigurationError(
            file: fileName,
            line: draft.tlsLine ?? draft.line,
            option: "listen-socket/\(draft.tlsLine == nil ? "tls" : "ssl")",
            message: "the socket on port \(draft.socket.port) uses TLS, which needs a certificate: "
                + "<paths><ssl-certificate>FILE</ssl-certificate></paths> (one PEM with chain and key) or "
                + "<security><tls-context><tls-certificate>FILE</tls-certificate></tls-context></security>"
        )
    }

    /// Where the validator's problem with `option` of a mount was written: the mount's `<mount-name>` line (the
    /// default mount's `<mount>` line), named `mount[/x]/option` like every other mount option.
    func location(ofMount mountPath: String?, option: String, fileName: String) -> ConfigurationValidator.Location {
        guard let mountPath else {
            return .init(file: fileName, line: defaultMountLine, option: "mount[default]/\(option)")
        }
        return .init(file: fileName, line: mountNameLines[mountPath], option: "mount[\(mountPath)]/\(option)")
    }

    /// The sockets to open: the `<listen-socket>`s if there are any (Icecast then drops the root socket), else the
    /// root socket, which is port 8000 on every interface unless a root `<port>`/`<bind-address>` changed it.
    ///
    /// A `shoutcast-compat` socket on port P is Icecast's older spelling of `<shoutcast-mount>` on the plain socket
    /// on P − 1, which Icecast requires to exist; it is folded into that socket.
    private func resolveListenSockets(log: inout WarningLog) -> [ServerConfiguration.ListenSocket] {
        guard !sockets.isEmpty else {
            return [rootSocket]
        }
        if let rootSocketLine {
            log.warn(
                "port",
                "the root <port>/<bind-address> (line \(rootSocketLine)) is ignored because there are "
                    + "<listen-socket> elements, as in Icecast"
            )
        }
        var result = sockets.filter { !$0.isShoutcastCompatible }.map(\.socket)
        for draft in sockets where draft.isShoutcastCompatible {
            let partner = result.firstIndex {
                $0.port == draft.socket.port - 1 && $0.bindAddress == draft.socket.bindAddress
                    && $0.shoutcastMount == nil
            }
            guard let partner else {
                log.warn(
                    "listen-socket/shoutcast-compat",
                    "the SHOUTcast socket on port \(draft.socket.port) (line \(draft.line)) is ignored: it needs a "
                        + "plain <listen-socket> on port \(draft.socket.port - 1) with the same bind-address; "
                        + "prefer <shoutcast-mount> inside that socket"
                )
                continue
            }
            result[partner].shoutcastMount = draft.socket.shoutcastMount ?? globalShoutcastMount
        }
        return result
    }
}
