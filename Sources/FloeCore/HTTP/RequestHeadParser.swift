import NIOCore

/// Finds and parses a request head at the front of the bytes a connection has sent so far.
///
/// The head ends at the first blank line: `\r\n\r\n`, `\n\n`, or Icecast's NSV quirk `\r\r\n\r\r\n`. Whatever
/// follows belongs to the stream (a source's first audio bytes) and is left in the caller's buffer.
///
/// ```
///  SOURCE /live HTTP/1.0\r\n      request line: METHOD SP URI SP (HTTP|ICE)/VERSION
///  Authorization: Basic …\r\n     header lines: name ":" value
///  \r\n                           blank line ends the head
///  <audio bytes …>                left in the buffer
/// ```
public struct RequestHeadParser: Sendable {
    /// Why a head was refused. Each maps to one HTTP status in the server.
    public enum Failure: Error, Sendable, Equatable {
        /// No blank line within `maximumHeadBytes`.
        case headTooLarge
        /// More than `maximumHeaderCount` header lines.
        case tooManyHeaders
        /// The request line is not `METHOD URI PROTO/VERSION`.
        case malformedRequestLine
        /// The protocol token is neither `HTTP` nor `ICE`.
        case unsupportedProtocol
        /// A header line without a colon.
        case malformedHeader
    }

    /// The result of looking at the bytes received so far.
    public enum Result: Sendable, Equatable {
        /// The head is complete; `headLength` bytes of the buffer were the head.
        case head(RequestHead, headLength: Int)
        /// More bytes are needed.
        case needMoreData
        /// The bytes can never become a valid head.
        case failure(Failure)
    }

    /// Largest head accepted, blank line included. Icecast allows 4096; browsers with cookies send more.
    public var maximumHeadBytes: Int
    /// Largest number of header lines accepted.
    public var maximumHeaderCount: Int

    public init(maximumHeadBytes: Int = 16 * 1024, maximumHeaderCount: Int = 64) {
        self.maximumHeadBytes = maximumHeadBytes
        self.maximumHeaderCount = maximumHeaderCount
    }

    /// Looks for a complete head at the reader index of `buffer` without consuming anything.
    ///
    /// `searchedBytes` is how many bytes an earlier call already searched without finding the end (pass the
    /// buffer's previous length): the search resumes a few bytes before that, so a head that trickles in byte by
    /// byte costs linear, not quadratic, time.
    public func parse(_ buffer: ByteBuffer, searchedBytes: Int = 0) -> Result {
        buffer.withUnsafeReadableBytes { bytes in
            let start = max(0, searchedBytes - 5)
            guard let (headEnd, terminatorLength) = Self.findEndOfHead(bytes, from: start, limit: maximumHeadBytes)
            else {
                return bytes.count >= maximumHeadBytes ? .failure(.headTooLarge) : .needMoreData
            }
            let text = String(decoding: bytes[..<headEnd], as: UTF8.self)
            switch parseHead(text) {
            case .success(let head): return .head(head, headLength: headEnd + terminatorLength)
            case .failure(let failure): return .failure(failure)
            }
        }
    }

    /// Index of the blank line and its length, searching only the first `limit` bytes.
    static func findEndOfHead(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, limit: Int) -> (Int, Int)? {
        let end = min(bytes.count, limit)
        var index = start
        while index < end {
            if bytes[index] == UInt8(ascii: "\n") {
                // "\n\n" or "\r\n\r\n" (the preceding "\r" belongs to the line).
                if index + 1 < end, bytes[index + 1] == UInt8(ascii: "\n") {
                    let start = index > 0 && bytes[index - 1] == UInt8(ascii: "\r") ? index - 1 : index
                    return (start, index + 2 - start)
                }
                if index + 2 < end, bytes[index + 1] == UInt8(ascii: "\r"), bytes[index + 2] == UInt8(ascii: "\n") {
                    let start = index > 0 && bytes[index - 1] == UInt8(ascii: "\r") ? index - 1 : index
                    return (start, index + 3 - start)
                }
                // NSV: "\r\r\n\r\r\n".
                if index + 3 < end, bytes[index + 1] == UInt8(ascii: "\r"), bytes[index + 2] == UInt8(ascii: "\r"),
                    bytes[index + 3] == UInt8(ascii: "\n"), index >= 2, bytes[index - 1] == UInt8(ascii: "\r"),
                    bytes[index - 2] == UInt8(ascii: "\r")
                {
                    return (index - 2, 6)
                }
            }
            index += 1
        }
        return nil
    }

    private func parseHead(_ text: String) -> Swift.Result<RequestHead, Failure> {
        // A line ends at LF; the CRs before it belong to the line end (NSV sources send two).
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map { line in
            var line = line
            while line.hasSuffix("\r") { line = line.dropLast() }
            return line
        }
        guard !lines.isEmpty else { return .failure(.malformedRequestLine) }
        let requestLine = lines.removeFirst()
        // RFC 9112 §2.2: a CR anywhere else is refused, not kept: a URI or value carrying one into a response header
        // (a redirect's Location) would end that line for any software that takes a bare CR as a line end. The
        // request line has no control character at all; a header value may hold tabs.
        if requestLine.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return .failure(.malformedRequestLine)
        }
        if lines.contains(where: { $0.unicodeScalars.contains { $0 == "\r" || $0 == "\0" } }) {
            return .failure(.malformedHeader)
        }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3 else { return .failure(.malformedRequestLine) }
        let versionParts = parts[2].split(separator: "/", maxSplits: 1)
        guard versionParts.count == 2 else { return .failure(.malformedRequestLine) }
        let protocolName = String(versionParts[0]).uppercased()
        guard protocolName == "HTTP" || protocolName == "ICE" else { return .failure(.unsupportedProtocol) }
        guard lines.count <= maximumHeaderCount else { return .failure(.tooManyHeaders) }

        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(lines.count)
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return .failure(.malformedHeader) }
            let name = line[..<colon].trimmingSpaces()
            guard !name.isEmpty else { return .failure(.malformedHeader) }
            headers.append((String(name), String(line[line.index(after: colon)...].trimmingSpaces())))
        }
        return .success(
            RequestHead(
                method: String(parts[0]).uppercased(),
                uri: String(parts[1]),
                protocolName: protocolName,
                protocolVersion: String(versionParts[1]),
                headers: headers
            )
        )
    }
}

extension StringProtocol {
    /// Drops leading and trailing spaces and tabs (HTTP's optional whitespace).
    public func trimmingSpaces() -> Substring {
        var result = self[...]
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return Substring(result)
    }
}
