/// Works around a crash in Foundation's `XMLParser` on Linux: a processing instruction without data (`<?foo?>`)
/// reaches its delegate bridge as a null pointer, which it reads as a C string, and the process dies (found by
/// fuzzing icecast.xml). Floe ignores processing instructions, so such instructions are blanked out before the
/// text is parsed: each byte becomes a space, newlines stay, so line numbers in errors do not move.
///
/// The XML declaration (`<?xml …?>`) is left alone, as is anything inside comments and CDATA sections.
enum XMLProcessingInstructions {
    static func blankingEmpty(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        var index = 0
        func starts(with literal: String, at position: Int) -> Bool {
            let pattern = Array(literal.utf8)
            return position + pattern.count <= bytes.count && Array(bytes[position..<(position + pattern.count)]) == pattern
        }
        func skip(past terminator: String, from position: Int) -> Int {
            var i = position
            while i < bytes.count, !starts(with: terminator, at: i) { i += 1 }
            return min(i + terminator.utf8.count, bytes.count)
        }
        while index < bytes.count {
            if starts(with: "<!--", at: index) {
                index = skip(past: "-->", from: index + 4)
            } else if starts(with: "<![CDATA[", at: index) {
                index = skip(past: "]]>", from: index + 9)
            } else if starts(with: "<?", at: index) {
                let end = skip(past: "?>", from: index + 2)
                let inner = bytes[(index + 2)..<max(index + 2, end - 2)]
                let isWhitespace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
                let target = inner.prefix { !isWhitespace($0) }
                let data = inner.dropFirst(target.count).drop(while: isWhitespace)
                let isDeclaration = String(decoding: target, as: UTF8.self).lowercased() == "xml"
                if data.isEmpty, !isDeclaration, starts(with: "?>", at: end - 2) {
                    for i in index..<end where bytes[i] != 0x0A { result[i] = 0x20 }
                }
                index = end
            } else {
                index += 1
            }
        }
        return result
    }
}
