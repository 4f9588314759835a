import NIOCore

/// Decodes an HTTP/1.1 chunked request body (RFC 9112 §7.1) incrementally: a source's `PUT` with
/// `Transfer-Encoding: chunked` (curl reading from a pipe, Icecast 2.5-era clients).
///
/// ```
///  1A;name=value\r\n           chunk size in hex, optional extensions (ignored)
///  <26 bytes of audio>\r\n
///  0\r\n                       the last chunk
///  Trailer: value\r\n          optional trailer fields (ignored)
///  \r\n                        end of the body
/// ```
/// Feed bytes as they arrive in any pieces; `decode` returns the body bytes they complete, shared slices of the
/// input, never copies. A malformed size line, a missing CRLF after a chunk or an oversized line is an error:
/// the body cannot be trusted beyond it, so the caller ends the source rather than relay garbage.
public struct ChunkedBodyDecoder: Sendable {
    public enum State: Sendable, Equatable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    public enum DecodeError: Error, Sendable, Equatable {
        case malformedSize(String)
        case missingChunkEnd
        case lineTooLong
    }

    public private(set) var state = State.size
    /// A size or trailer line split across reads.
    private var line: [UInt8] = []

    /// Longest size or trailer line accepted.
    public static let maximumLineBytes = 4096

    public init() {}

    /// The body bytes `input` completes (in order), and whether the body has ended.
    public mutating func decode(_ input: ByteBuffer) throws(DecodeError) -> (body: [ByteBuffer], finished: Bool) {
        var input = input
        var body: [ByteBuffer] = []
        while input.readableBytes > 0, state != .done {
            switch state {
            case .size:
                guard let text = try readLine(&input) else { continue }
                let size = text.prefix { $0 != ";" }.trimmingCharacters(in: " \t")
                // Hex digits only (no sign); leading zeros do not count towards the 15 digits that fit an Int.
                let digits = size.drop { $0 == "0" }
                guard !size.isEmpty, size.allSatisfy(\.isHexDigit), digits.count <= 15,
                    let value = digits.isEmpty ? 0 : Int(digits, radix: 16)
                else {
                    throw .malformedSize(String(text.prefix(40)))
                }
                state = value == 0 ? .trailers : .data(remaining: value)
            case .data(let remaining):
                let count = min(remaining, input.readableBytes)
                body.append(input.readSlice(length: count)!)
                state = remaining == count ? .dataEnd : .data(remaining: remaining - count)
            case .dataEnd:
                guard let text = try readLine(&input) else { continue }
                guard text.isEmpty else { throw .missingChunkEnd }
                state = .size
            case .trailers:
                guard let text = try readLine(&input) else { continue }
                if text.isEmpty { state = .done }
            case .done:
                break
            }
        }
        return (body, state == .done)
    }

    /// The next line without its CRLF (a bare LF is accepted), or `nil` when it is not complete yet.
    private mutating func readLine(_ input: inout ByteBuffer) throws(DecodeError) -> String? {
        let view = input.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            line += view
            input.moveReaderIndex(to: input.writerIndex)
            if line.count > Self.maximumLineBytes { throw .lineTooLong }
            return nil
        }
        line += view[view.startIndex..<newline]
        input.moveReaderIndex(to: newline + 1)
        if line.count > Self.maximumLineBytes { throw .lineTooLong }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        defer { line.removeAll(keepingCapacity: true) }
        return String(decoding: line, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Without leading and trailing characters from `set`.
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
