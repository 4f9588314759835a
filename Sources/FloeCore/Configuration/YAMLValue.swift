import Foundation
import Yams

/// One node of a composed YAML document, with its option path and file, and readers that turn it into a typed
/// value or fail with a ``ConfigurationError`` naming the file, line and option.
///
/// The readers are stricter than YAML's own typing, on purpose:
/// - Text options take a plain scalar's text exactly as written, so `password: 1234` is `"1234"` and
///   `location: NO` stays `"NO"` (YAML 1.1 would read a boolean).
/// - Numbers must be plain scalars in decimal. `port: "8000"` (quoted) and `port: 0x1F40` are refused with a
///   message saying why, rather than guessed at.
/// - `~`, `null` or nothing at all means "not set". Only options documented as optional accept it
///   (``isNull``); elsewhere it is an error, so `hostname:` with a forgotten value is reported.
struct YAMLValue {
    let node: Node
    /// Option path, e.g. `limits/clients`, `listen[0]/port` or `mounts[/live]/genre`; empty for the document.
    let path: String
    let fileName: String

    /// 1-based line where the node starts.
    var line: Int? {
        node.mark?.line
    }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: fileName, line: line, option: path, message: message)
    }

    /// The value of `key` in a mapping, with its path below this one.
    func child(_ node: Node, key: String) -> YAMLValue {
        YAMLValue(node: node, path: path.isEmpty ? key : "\(path)/\(key)", fileName: fileName)
    }

    // MARK: - Scalars

    /// A scalar written without quotes or an explicit tag: the only kind that may be read as a number, switch or
    /// null.
    private var plainText: String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, scalar.tag.rawValue.isEmpty else {
            return nil
        }
        return scalar.string
    }

    /// `~`, `null` or an empty value: the option is "not set".
    var isNull: Bool {
        guard case .scalar(let scalar) = node else { return false }
        if scalar.tag.rawValue == Tag.Name.null.rawValue { return true }  // `!!null`
        return plainText.map { ["", "~", "null", "Null", "NULL"].contains($0) } ?? false
    }

    /// How the value looks, for messages: `"abc"`, `the quoted text "8000"`, `a list`.
    var described: String {
        switch node {
        case .scalar(let scalar):
            if isNull { return "nothing (null)" }
            return plainText == nil ? "the quoted text \"\(scalar.string)\"" : "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The text of a scalar. Numbers and switches written plainly are taken as their text.
    ///
    /// Control characters other than tab are refused: every text option ends up in a header, a file name, a log
    /// line or a comparison, and a line break in a stream name or header value would split an HTTP response.
    ///
    /// - Parameter allowEmpty: whether `""` is acceptable (header values); elsewhere an empty text is refused,
    ///   because it is almost always an unfinished edit and an empty password would be worse.
    func text(allowEmpty: Bool = false) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw error("expected text, got \(described)")
        }
        guard allowEmpty || !scalar.string.isEmpty else {
            throw error("expected text, got an empty string; leave the option out instead")
        }
        let control = scalar.string.unicodeScalars.first {
            ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value)
        }
        if let control {
            throw error("text must not contain control characters such as line breaks (found U+\(Self.hex(control)))")
        }
        return scalar.string
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// ``text(allowEmpty:)``, or `nil` when not set.
    func optionalText() throws(ConfigurationError) -> String? {
        isNull ? nil : try text()
    }

    /// A whole number in decimal, optionally with `_` between digits (`524_288`), within `range`.
    func integer(in range: ClosedRange<Int> = 0...Int.max) throws(ConfigurationError) -> Int {
        guard let text = plainText, !isNull else {
            throw error("expected a whole number, got \(described)" + quotedNumberHint)
        }
        guard Self.isDecimal(text), let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw error("expected a whole number, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw error("expected \(Self.describe(range)), got \(value)")
        }
        return value
    }

    /// A number of seconds, fractions allowed, greater than 0 (or at least 0 with `allowingZero`) and at most
    /// `maximum`. Exponents, `.inf` and `.nan` are refused.
    func seconds(allowingZero: Bool = false, atMost maximum: Double? = nil) throws(ConfigurationError) -> Double {
        guard let text = plainText, !isNull else {
            throw error("expected a number of seconds, got \(described)" + quotedNumberHint)
        }
        let digits = text.replacingOccurrences(of: "_", with: "")
        let isPlainDecimal =
            digits.contains { $0.isNumber }
            && digits.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard isPlainDecimal, let value = Double(digits), value.isFinite else {
            throw error("expected a number of seconds, got \"\(text)\"")
        }
        guard allowingZero || value > 0 else {
            throw error("expected a number of seconds greater than 0, got \(text)")
        }
        if let maximum, value > maximum {
            throw error("expected a number of seconds of at most \(Self.plain(maximum)), got \(text)")
        }
        return value
    }

    /// `unlimited`, `null`, or leaving the option out: no limit.
    var isUnlimited: Bool {
        isNull || plainText == "unlimited"
    }

    /// A whole number of at least 0, or `nil` for ``isUnlimited``.
    func integerOrUnlimited() throws(ConfigurationError) -> Int? {
        if isUnlimited { return nil }
        guard let text = plainText, Self.isDecimal(text), !text.hasPrefix("-") else {
            throw error("expected a whole number or unlimited, got \(described)" + quotedNumberHint)
        }
        return try integer()
    }

    /// A number of seconds greater than 0, or `nil` for ``isUnlimited``.
    func secondsOrUnlimited() throws(ConfigurationError) -> Double? {
        if isUnlimited { return nil }
        guard let text = plainText, text.first?.isNumber == true else {
            throw error("expected a number of seconds or unlimited, got \(described)" + quotedNumberHint)
        }
        return try seconds()
    }

    /// A size in bytes: a whole number, or a number followed by `KiB` or `MiB` (`512 KiB`), at least `minimum`.
    func byteCount(atLeast minimum: Int = 0) throws(ConfigurationError) -> Int {
        guard let text = plainText, !isNull else {
            throw error("expected a size in bytes, got \(described)" + quotedNumberHint)
        }
        var number = Substring(text)
        var unit = 1
        for (suffix, multiplier) in [("KiB", 1024), ("MiB", 1024 * 1024)] where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            while number.last == " " { number = number.dropLast() }
            unit = multiplier
        }
        guard Self.isDecimal(number), let count = Int(number.replacingOccurrences(of: "_", with: "")) else {
            throw error(
                "expected a size in bytes (a whole number, or a number followed by KiB or MiB), got \"\(text)\""
            )
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow, count >= 0 else {
            throw error("expected a size in bytes, got \"\(text)\"")
        }
        guard bytes >= minimum else {
            throw error("expected a size of at least \(minimum) bytes, got \"\(text)\"")
        }
        return bytes
    }

    /// A switch: `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`, in any case).
    func bool() throws(ConfigurationError) -> Bool {
        switch plainText?.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw error("expected true or false, got \(described)")
        }
    }

    /// One of `choices`, with a suggestion when the text is close to one.
    func choice(_ choices: [String]) throws(ConfigurationError) -> String {
        let value = try text()
        guard choices.contains(value) else {
            let listed = choices.map { "\"\($0)\"" }.joined(separator: ", ")
            let guess = KeySuggestion.closest(to: value, among: choices).map { "; did you mean \"\($0)\"?" } ?? ""
            throw error("expected one of \(listed), got \"\(value)\"" + guess)
        }
        return value
    }

    /// A mount path, or a path under the web root: starts with `/` and could appear in a request.
    func mountPath() throws(ConfigurationError) -> String {
        let value = try text()
        if let problem = ConfigurationValidator.pathProblem(value) {
            throw error("the path \"\(value)\" \(problem)")
        }
        return value
    }

    /// Added to "expected a number" messages when the number was quoted, the one mistake worth explaining.
    private var quotedNumberHint: String {
        guard case .scalar(let scalar) = node, plainText == nil, Self.isDecimal(Substring(scalar.string)) else {
            return ""
        }
        return "; write numbers without quotes"
    }

    /// Digits with an optional sign, `_` allowed between digits.
    private static func isDecimal<S: StringProtocol>(_ text: S) -> Bool {
        let unsigned = text.first == "-" || text.first == "+" ? text.dropFirst() : text[...]
        return unsigned.first?.isASCII == true && unsigned.first!.isNumber && unsigned.last!.isNumber
            && unsigned.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "_") }
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (_, Int.max): return "a whole number of at least \(range.lowerBound)"
        default: return "a whole number from \(range.lowerBound) to \(range.upperBound)"
        }
    }

    /// `15` rather than `15.0`.
    private static func plain(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    // MARK: - Collections

    /// The entries of a mapping in document order, keys as text. `null` is an empty mapping, so a section whose
    /// options are all commented out (`limits:`) is fine.
    func entries() throws(ConfigurationError) -> [(key: String, value: YAMLValue)] {
        if isNull { return [] }
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping of options (key: value), got \(described)")
        }
        var entries: [(key: String, value: YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            let key = YAMLValue(node: keyNode, path: path, fileName: fileName)
            guard case .scalar(let scalar) = keyNode, !key.isNull else {
                throw key.error("expected an option name, got \(key.described)")
            }
            if scalar.string == "<<" {
                throw key.error("YAML merge keys (<<) are not supported; write the options out")
            }
            entries.append((scalar.string, child(valueNode, key: scalar.string)))
        }
        return entries
    }

    /// The elements of a list, each with its index in its path (`listen[0]`). `null` is an empty list.
    func elements() throws(ConfigurationError) -> [YAMLValue] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else {
            throw error("expected a list (lines starting with \"- \"), got \(described)")
        }
        return sequence.enumerated().map { index, element in
            YAMLValue(node: element, path: "\(path)[\(index)]", fileName: fileName)
        }
    }

    /// Applies `rules` to each entry of this mapping in document order.
    ///
    /// An option without a rule is an error, with a suggestion: an explicit hint for names people bring from
    /// Icecast or put in the wrong section (`hints`), else the closest known option if one is close.
    func apply<Target>(
        _ rules: [String: YAMLKeyRule<Target>],
        to target: inout Target,
        hints: [String: String] = [:]
    ) throws(ConfigurationError) {
        for (key, value) in try entries() {
            guard let rule = rules[key] else {
                let guess =
                    hints[key]
                    ?? KeySuggestion.closest(to: key, among: Array(rules.keys)).map {
                        "did you mean \"\($0)\"?"
                    }
                throw value.error("unknown option" + (guess.map { "; \($0)" } ?? ""))
            }
            do {
                try rule(&target, value)
            } catch let error as ConfigurationError {
                throw error
            } catch {
                // Rules throw nothing else; should one ever do, report it against the option instead of crashing.
                throw value.error("\(error)")
            }
        }
    }

    /// The line of each key of this mapping, by key (empty when this is not a mapping).
    var keyLines: [String: Int] {
        guard case .mapping(let mapping) = node else { return [:] }
        var lines: [String: Int] = [:]
        for (key, _) in mapping {
            if let name = key.scalar?.string, let line = key.mark?.line {
                lines[name] = line
            }
        }
        return lines
    }
}

/// How one option is applied to the value being built.
///
/// The closures throw only ``ConfigurationError``s (from ``YAMLValue``'s readers); they are declared with untyped
/// `throws` because Swift 6 does not infer a typed throw for a closure literal, and ``YAMLValue/apply(_:to:hints:)``
/// narrows the type again.
typealias YAMLKeyRule<Target> = @Sendable (inout Target, YAMLValue) throws -> Void

/// "Did you mean" for option names and choices.
enum KeySuggestion {
    /// The known name closest to `name`, if it is close enough to be a typo: the same after folding case and `_`,
    /// the only known name that begins with it, or at most a third of the letters (at least one, at most three)
    /// away by edit distance.
    static func closest(to name: String, among known: [String]) -> String? {
        let folded = fold(name)
        if let same = known.first(where: { fold($0) == folded }) {
            return same
        }
        // A known name that starts with what was written (`warn` for `warning`), if there is exactly one.
        let extensions = known.filter { folded.count >= 3 && fold($0).starts(with: folded) }
        if extensions.count == 1 {
            return extensions[0]
        }
        let limit = min(3, max(1, name.count / 3))
        let scored = known.map { ($0, distance(folded, fold($0))) }.filter { $0.1 <= limit }
        return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
    }

    private static func fold(_ name: String) -> [Character] {
        Array(name.lowercased().replacingOccurrences(of: "_", with: "-"))
    }

    /// Levenshtein distance.
    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
