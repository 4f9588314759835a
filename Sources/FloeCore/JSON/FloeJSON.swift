import Foundation

/// Floe's own JSON documents (the admin API's `.json` variants, `floe check-config`), encoded by `JSONEncoder` from
/// `Encodable` types. Icecast's documents (`/status-json.xsl`, the admin XML) stay hand-written where byte-for-byte
/// compatibility with Icecast needs it.
public enum FloeJSON {
    /// Compact, keys sorted (stable output), slashes as they are (`"/live"`, not `"\/live"`).
    public static func encode(_ value: some Encodable, pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        // Every value here is a plain string, number, bool or null: encoding cannot fail.
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// An optional that encodes `nil` as `null` (synthesised `Encodable` leaves the key out instead).
public struct Nullable<Wrapped: Encodable & Sendable>: Encodable, Sendable {
    public var value: Wrapped?

    public init(_ value: Wrapped?) {
        self.value = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value {
            try container.encode(value)
        } else {
            try container.encodeNil()
        }
    }
}

/// A JSON value built at run time: objects whose keys are data (mount paths, statistic names), and Icecast's
/// text values, which become numbers when they look like one.
public indirect enum JSONValue: Encodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// `text` as a number when it is a plain decimal integer or decimal (as Icecast's xml2json.xslt does), else
    /// as a string.
    public static func scalar(_ text: String) -> JSONValue {
        guard JSONText.looksNumeric(text) else { return .string(text) }
        if let integer = Int(text) { return .int(integer) }
        return Double(text).map(JSONValue.double) ?? .string(text)
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let flag):
            var container = encoder.singleValueContainer()
            try container.encode(flag)
        case .int(let number):
            var container = encoder.singleValueContainer()
            try container.encode(number)
        case .double(let number):
            var container = encoder.singleValueContainer()
            try container.encode(number)
        case .string(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            for (name, member) in members { try container.encode(member, forKey: Key(name)) }
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
