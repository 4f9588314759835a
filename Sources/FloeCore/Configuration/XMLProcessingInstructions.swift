/// Works around a crash in Foundation's `XMLParser` on Linux: a processing instruction without data (`<?foo?>`)
/// reaches its delegate bridge as a null pointer, which it reads as a C string, and the process dies (found by
/// fuzzing icecast.xml). Floe ignores processing instructions, so such instructions are blanked out before the
/// text is parsed: each byte becomes a space, newlines stay, so line numbers in errors do not move.
///
/// libxml2 parses on after an error (Foundation asks it to recover), so an instruction can start wherever a `<?`
/// follows something broken: inside another instruction's data, in a comment or CDATA section that is not what
/// it seems, after a control character. The scan therefore looks at every `<?` in the document, and blanks each
/// one followed by a name and at once by `?>`. That is a superset of what libxml2 reads as an instruction without
/// data: its names never hold white space, `?`, `<` or `>`. `<?xml?>` is blanked too.
///
/// The XML declaration at the start is blanked as well, up to its first `>` (where libxml2 may end it): the text
/// is already decoded and reaches the parser as UTF-8, and an `encoding=` there would make libxml2 decode it
/// again, as ISO-8859-1 (garbling every accent) or as UTF-7, in which `+ADw-?a?+AD4-` is an instruction without
/// data the scan cannot see. For the same reason a NUL character is refused: libxml2 guesses UTF-16 or UCS-4
/// from zero bytes at the start, and XML allows no NUL anywhere.
///
/// Two more cases cannot be made safe by blanking, and are refused too:
/// - such an instruction inside what looks like a CDATA section: blanking would change a value, keeping it might
///   crash the parser;
/// - declarations in a DOCTYPE's internal subset (`<!ENTITY`, `<!ATTLIST`, `<!NOTATION`, `<!ELEMENT`), wherever
///   they appear: Foundation expands entities, and an entity's text (`&#60;?p?>`) becomes markup only once
///   expanded; an attribute declared `#IMPLIED` or `#REQUIRED` (no default value) and a notation without a
///   public or a system ID reach Foundation's bridge as null pointers too (found by review). icecast.xml has no
///   use for any of them; a bare `<!DOCTYPE icecast>` still loads.
enum XMLProcessingInstructions {
    /// A document refused before parsing, at `line`.
    struct Refusal: Error {
        var line: Int
        var message: String
    }

    static func blankingEmpty(_ bytes: [UInt8]) throws(Refusal) -> [UInt8] {
        var result = bytes
        var index = 0
        /// Where the CDATA section the scan is in ends, if it is in one.
        var cdataEnd: Int?
        /// Set once a search for `]]>` fails: none follows, so later sections need not search again.
        var noMoreCDATAEnds = false
        func line(at position: Int) -> Int { 1 + bytes[..<position].count { $0 == 0x0A } }
        if let nul = bytes.firstIndex(of: 0) {
            throw Refusal(line: line(at: nul), message: "a NUL character (not allowed in XML)")
        }
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        if bytes.matches("<?xml", at: start), start + 5 < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start + 5]) {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ">")) ?? (bytes.count - 1)
            for i in start...end where bytes[i] != 0x0A { result[i] = 0x20 }
            index = end + 1
        }
        while index < bytes.count {
            if let end = cdataEnd, index >= end { cdataEnd = nil }
            if bytes.matches("<!", at: index), index + 2 < bytes.count, Self.isLetter(bytes[index + 2]),
                !bytes.matches("<!DOCTYPE", at: index)
            {
                let nameEnd = bytes[(index + 2)...].firstIndex { !Self.isLetter($0) } ?? bytes.count
                let name = String(decoding: bytes[(index + 2)..<min(nameEnd, index + 12)], as: UTF8.self)
                throw Refusal(
                    line: line(at: index),
                    message: "DTD declarations (<!\(name)>) are not supported: only <!DOCTYPE name> without declarations"
                )
            }
            if cdataEnd == nil, !noMoreCDATAEnds, bytes.matches("<![CDATA[", at: index) {
                cdataEnd = bytes.firstIndex(of: "]]>", from: index + 9)
                noMoreCDATAEnds = cdataEnd == nil
                index += 9
                continue
            }
            guard bytes.matches("<?", at: index) else {
                index += 1
                continue
            }
            let nameEnd = bytes[(index + 2)...].firstIndex(where: endsName) ?? bytes.count
            if nameEnd > index + 2, bytes.matches("?>", at: nameEnd) {
                if cdataEnd != nil {
                    throw Refusal(
                        line: line(at: index),
                        message: "a processing instruction without data (<?name?>) inside CDATA cannot be read"
                    )
                }
                for i in index..<(nameEnd + 2) where bytes[i] != 0x0A { result[i] = 0x20 }
            }
            index += 2
        }
        return result
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }

    private static func endsName(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: "?")
            || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
    }
}

extension Array where Element == UInt8 {
    fileprivate func matches(_ literal: String, at position: Int) -> Bool {
        var i = position
        for byte in literal.utf8 {
            guard i < count, self[i] == byte else { return false }
            i += 1
        }
        return true
    }

    /// Where the next `literal` at or after `start` begins.
    fileprivate func firstIndex(of literal: String, from start: Int) -> Int? {
        var i = start
        while i < count {
            if matches(literal, at: i) { return i }
            i += 1
        }
        return nil
    }
}
