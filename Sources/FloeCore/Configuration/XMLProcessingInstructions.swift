/// Works around a crash in Foundation's `XMLParser` on Linux: a processing instruction without data (`<?foo?>`)
/// reaches its delegate bridge as a null pointer, which it reads as a C string, and the process dies (found by
/// fuzzing icecast.xml). Floe ignores processing instructions, so such instructions are blanked out before the
/// text is parsed: each byte becomes a space, newlines stay, so line numbers in errors do not move.
///
/// libxml2 parses on after an error (Foundation asks it to recover), so an instruction can start wherever a `<?`
/// follows a byte that broke what came before: inside another instruction's data, an unfinished comment, after
/// a control character. The scan therefore looks at every `<?` in the document, and blanks each one followed by a
/// name and at once by `?>`. That is a superset of what libxml2 reads as an instruction without data: its names
/// never hold white space, `?`, `<` or `>`. `<?xml?>` is blanked too (a real XML declaration always has data).
/// Only comments and CDATA sections that libxml2 reads whole (every character allowed, no `--` inside a comment)
/// keep their text.
enum XMLProcessingInstructions {
    static func blankingEmpty(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        var index = 0
        while index < bytes.count {
            if let end = endOfIntactSection(in: bytes, at: index) {
                index = end
            } else if bytes.matches("<?", at: index) {
                let nameEnd = bytes[(index + 2)...].firstIndex(where: endsName) ?? bytes.count
                if nameEnd > index + 2, bytes.matches("?>", at: nameEnd) {
                    for i in index..<(nameEnd + 2) where bytes[i] != 0x0A { result[i] = 0x20 }
                }
                index += 2
            } else {
                index += 1
            }
        }
        return result
    }

    /// The end of a comment or CDATA section starting at `index` that libxml2 parses as one, or `nil`.
    private static func endOfIntactSection(in bytes: [UInt8], at index: Int) -> Int? {
        let (opening, closing): (String, String)
        if bytes.matches("<!--", at: index) {
            (opening, closing) = ("<!--", "-->")
        } else if bytes.matches("<![CDATA[", at: index) {
            (opening, closing) = ("<![CDATA[", "]]>")
        } else {
            return nil
        }
        let start = index + opening.utf8.count
        var i = start
        while i < bytes.count, !bytes.matches(closing, at: i) {
            if !isAllowed(bytes, at: i) || (opening == "<!--" && bytes.matches("--", at: i)) { return nil }
            i += 1
        }
        return i < bytes.count ? i + closing.utf8.count : nil
    }

    /// Whether the byte at `index` may appear in XML 1.0 text: no C0 control but tab, LF and CR, and not the
    /// start of U+FFFE or U+FFFF (EF BF BE, EF BF BF). The bytes come from a Swift string, so they are UTF-8.
    private static func isAllowed(_ bytes: [UInt8], at index: Int) -> Bool {
        let byte = bytes[index]
        if byte < 0x20 { return byte == 0x09 || byte == 0x0A || byte == 0x0D }
        if byte == 0xEF, index + 2 < bytes.count, bytes[index + 1] == 0xBF, bytes[index + 2] >= 0xBE { return false }
        return true
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
}
