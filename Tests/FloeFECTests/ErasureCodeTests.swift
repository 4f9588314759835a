import FloeFEC
import Testing

// MARK: Fixtures

/// The parity rows of one (k, n) code, each as hex bytes. Rows start at slice number k.
struct ParityVector: Sendable, CustomTestStringConvertible {
    var k: Int
    var n: Int
    var rows: [String]

    var testDescription: String { "k=\(k) n=\(n)" }

    /// From docs/reference fec-rtp.md §2, where Rizzo's fec.c and zfec were checked to agree.
    static let reference: [ParityVector] = [
        ParityVector(k: 2, n: 3, rows: ["03 02"]),
        ParityVector(k: 3, n: 5, rows: ["0f 08 06", "2d 30 1c"]),
        ParityVector(
            k: 8,
            n: 12,
            rows: [
                "89 18 d0 7d 92 a4 f5 fe",
                "36 f8 d0 ce 25 19 fb 16",
                "5f cd a3 40 50 48 f6 9e",
                "ed 91 24 90 dc 90 57 d2",
            ]
        ),
    ]

    /// Generated with Debian's python3-zfec 1.5.2 by encoding the k unit vectors (parity block p then holds
    /// row p of the matrix). k = 1 is the degenerate case: the single parity slice repeats the data.
    static let zfec: [ParityVector] = [
        ParityVector(k: 1, n: 2, rows: ["01"]),
        ParityVector(k: 4, n: 6, rows: ["77 40 38 0e", "c7 a7 0d 6c"]),
        ParityVector(
            k: 20,
            n: 25,
            rows: [
                "b7 ae 0b 72 0b cd 29 3f 84 a0 e5 73 03 df d9 ba d5 d0 20 99",
                "ff 08 a4 02 78 f6 22 d2 6e 41 2b 75 c5 b4 19 ea 9e 36 1a 6f",
                "a9 d8 e6 67 ec b2 a7 b2 ea 96 b5 87 c4 6f 61 de c1 7b 57 0d",
                "29 35 a7 f6 18 14 6a 81 48 99 bb a8 90 f6 73 b0 9e b8 c6 2c",
                "7d ff 3c 23 ff b5 ac c0 b2 22 a0 13 dc 9f 11 c6 9a 28 51 ee",
            ]
        ),
    ]
}

/// The first 16 coefficients of the first parity row and the last 16 of the last one, for codes too large to
/// write out. Generated with python3-zfec 1.5.2 as for `ParityVector.zfec`. They catch exponent arithmetic
/// that only goes wrong for large k or n.
struct ParityFingerprint: Sendable, CustomTestStringConvertible {
    var k: Int
    var n: Int
    var firstRowStart: String
    var lastRowEnd: String

    var testDescription: String { "k=\(k) n=\(n)" }

    static let all: [ParityFingerprint] = [
        ParityFingerprint(
            k: 100,
            n: 128,
            firstRowStart: "16 1a 36 2c 67 91 d0 03 f3 ef f2 c6 27 1b 7a d1",
            lastRowEnd: "1a c4 d6 02 31 d1 3d f4 55 5c c9 a5 af ee d4 fc"
        ),
        ParityFingerprint(
            k: 200,
            n: 255,
            firstRowStart: "4d 74 f8 a4 27 26 3a 10 8b 5b b5 c4 09 ba f4 4f",
            lastRowEnd: "d7 bb e4 cb 3c 30 7e 64 df 34 6f c7 f8 e7 c0 d9"
        ),
        ParityFingerprint(
            k: 254,
            n: 255,
            firstRowStart: "f5 02 06 0e 1e 3e 7e fe e3 d9 ad 45 88 0f 1c 3a",
            lastRowEnd: "0c 1a 36 6e de a3 59 b0 7f fc e7 d1 bd 65 c8 8f"
        ),
    ]
}

/// Bytes from hex digits; spaces and other separators are ignored.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.filter(\.isHexDigit))
    precondition(digits.count.isMultiple(of: 2), "odd number of hex digits in \(text)")
    return stride(from: 0, to: digits.count, by: 2).map { i in
        UInt8(String(digits[i...i + 1]), radix: 16)!
    }
}

/// xorshift64*: a tiny deterministic generator, so that every run tests the same data and a failure reproduces.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(UInt8(truncatingIfNeeded: next() >> 32))
        }
        return result
    }

    /// k slices of `length` random bytes.
    mutating func slices(_ k: Int, length: Int) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for _ in 0..<k {
            result.append(bytes(length))
        }
        return result
    }
}

/// Every `size`-element subset of 0..<count, each in increasing order.
func subsets(of size: Int, from count: Int) -> [[Int]] {
    if size == 0 {
        return [[]]
    }
    if count < size {
        return []
    }
    let withoutLast = subsets(of: size, from: count - 1)
    let withLast = subsets(of: size - 1, from: count - 1).map { $0 + [count - 1] }
    return withoutLast + withLast
}

// MARK: Tests

@Suite("ErasureCode")
struct ErasureCodeTests {
    // MARK: The encoding matrix

    @Test(arguments: ParityVector.reference + ParityVector.zfec)
    func parityRowsMatchFecCAndZfec(vector: ParityVector) throws {
        let code = try ErasureCode(dataSlices: vector.k, totalSlices: vector.n)
        #expect(code.paritySlices == vector.rows.count)
        for (offset, row) in vector.rows.enumerated() {
            #expect(code.parityRow(vector.k + offset) == hexBytes(row), "slice \(vector.k + offset)")
        }
    }

    @Test(arguments: ParityFingerprint.all)
    func largeCodesMatchZfec(fingerprint: ParityFingerprint) throws {
        let code = try ErasureCode(dataSlices: fingerprint.k, totalSlices: fingerprint.n)
        let firstRow = code.parityRow(fingerprint.k)
        let lastRow = code.parityRow(fingerprint.n - 1)
        #expect(firstRow.count == fingerprint.k)
        #expect(Array(firstRow.prefix(16)) == hexBytes(fingerprint.firstRowStart))
        #expect(Array(lastRow.suffix(16)) == hexBytes(fingerprint.lastRowEnd))
    }

    // MARK: Encoding

    @Test func encodingMatchesTheReferenceBlocks() throws {
        let code = try ErasureCode(dataSlices: 3, totalSlices: 5)
        let data = [hexBytes("01020304"), hexBytes("10203040"), hexBytes("aabbccdd")]

        #expect(code.encode(data) == [hexBytes("54be1ef2"), hexBytes("d30c7b8c")])
    }

    @Test func encodeSliceCopiesDataSlicesAndReusesItsBuffer() throws {
        let code = try ErasureCode(dataSlices: 3, totalSlices: 5)
        let data = [hexBytes("01020304"), hexBytes("10203040"), hexBytes("aabbccdd")]
        let expected = data + [hexBytes("54be1ef2"), hexBytes("d30c7b8c")]

        // Start from a buffer of the wrong length and stale contents, then keep reusing it.
        var buffer: [UInt8] = [0xFF, 0xFF]
        for index in [3, 0, 4, 4, 1, 2, 3] {
            code.encodeSlice(index, from: data, into: &buffer)
            #expect(buffer == expected[index], "slice \(index)")
        }
    }

    @Test func emptySlicesEncodeAndDecodeToEmptySlices() throws {
        let code = try ErasureCode(dataSlices: 2, totalSlices: 4)
        let parity = code.encode([[], []])
        #expect(parity == [[], []])
        #expect(try code.decode([(index: 3, bytes: []), (index: 2, bytes: [])]) == [[], []])
    }

    // MARK: Decoding

    @Test func everyChoiceOfKSlicesRecoversTheDataForSmallCodes() throws {
        var generator = SeededGenerator(seed: 0x464C_4643)
        for n in 2...7 {
            for k in 1..<n {
                let code = try ErasureCode(dataSlices: k, totalSlices: n)
                let data = generator.slices(k, length: 13)
                let all = data + code.encode(data)

                for subset in subsets(of: k, from: n) {
                    let received = subset.map { (index: $0, bytes: all[$0]) }.shuffled(using: &generator)
                    #expect(try code.decode(received) == data, "k=\(k) n=\(n) slices \(subset)")
                }
            }
        }
    }

    @Test(arguments: [(32, 48), (100, 128), (200, 255), (254, 255)])
    func randomChoicesOfKSlicesRecoverTheDataForLargeCodes(k: Int, n: Int) throws {
        var generator = SeededGenerator(seed: UInt64(k * 1000 + n))
        let code = try ErasureCode(dataSlices: k, totalSlices: n)
        let data = generator.slices(k, length: 37)
        let all = data + code.encode(data)

        // The k slices with the most parity in them, then random choices.
        var choices = [Array(n - k..<n)]
        for _ in 0..<4 {
            choices.append(Array((0..<n).shuffled(using: &generator).prefix(k)))
        }
        for subset in choices {
            let received = subset.map { (index: $0, bytes: all[$0]) }
            #expect(try code.decode(received) == data, "slices \(subset.sorted())")
        }
    }

    @Test func slicesBeyondKAreIgnored() throws {
        var generator = SeededGenerator(seed: 7)
        let code = try ErasureCode(dataSlices: 4, totalSlices: 8)
        let data = generator.slices(4, length: 21)
        let all = data + code.encode(data)

        let received = [6, 1, 7, 3, 5, 0].map { (index: $0, bytes: all[$0]) }
        #expect(try code.decode(received) == data)
        let everything = all.indices.map { (index: $0, bytes: all[$0]) }
        #expect(try code.decode(everything) == data)
    }

    // MARK: Errors

    @Test(arguments: [(0, 1), (0, 0), (-1, 5), (1, 1), (3, 3), (4, 3), (255, 255), (1, 256), (200, 300)])
    func initRefusesParametersOutsideTheRange(k: Int, n: Int) {
        #expect(throws: ErasureCode.ParameterError(dataSlices: k, totalSlices: n)) {
            try ErasureCode(dataSlices: k, totalSlices: n)
        }
    }

    @Test(arguments: [(1, 2), (1, 255), (254, 255), (8, 12)])
    func initAcceptsTheExtremesOfTheRange(k: Int, n: Int) throws {
        let code = try ErasureCode(dataSlices: k, totalSlices: n)
        #expect(code.dataSlices == k)
        #expect(code.totalSlices == n)
        #expect(code.paritySlices == n - k)
    }

    @Test func decodeRefusesTooFewSlices() throws {
        let code = try ErasureCode(dataSlices: 3, totalSlices: 5)
        let slice: [UInt8] = [1, 2, 3]

        #expect(throws: ErasureCode.DecodeError.tooFewSlices(received: 2, required: 3)) {
            try code.decode([(index: 0, bytes: slice), (index: 4, bytes: slice)])
        }
        #expect(throws: ErasureCode.DecodeError.tooFewSlices(received: 0, required: 3)) {
            try code.decode([])
        }
    }

    @Test func decodeRefusesDuplicateSliceNumbers() throws {
        let code = try ErasureCode(dataSlices: 3, totalSlices: 5)
        let slice: [UInt8] = [1, 2, 3]

        #expect(throws: ErasureCode.DecodeError.duplicateIndex(4)) {
            try code.decode([(index: 4, bytes: slice), (index: 1, bytes: slice), (index: 4, bytes: slice)])
        }
    }

    @Test func decodeRefusesSliceNumbersOutOfRange() throws {
        let code = try ErasureCode(dataSlices: 3, totalSlices: 5)
        let slice: [UInt8] = [1, 2, 3]

        #expect(throws: ErasureCode.DecodeError.indexOutOfRange(index: 5, totalSlices: 5)) {
            try code.decode([(index: 0, bytes: slice), (index: 5, bytes: slice), (index: 1, bytes: slice)])
        }
        #expect(throws: ErasureCode.DecodeError.indexOutOfRange(index: -1, totalSlices: 5)) {
            try code.decode([(index: -1, bytes: slice), (index: 0, bytes: slice), (index: 1, bytes: slice)])
        }
    }

    @Test func decodeRefusesSlicesOfDifferentLengths() throws {
        let code = try ErasureCode(dataSlices: 3, totalSlices: 5)

        #expect(throws: ErasureCode.DecodeError.lengthMismatch(index: 3, length: 2, expected: 3)) {
            try code.decode([(index: 0, bytes: [1, 2, 3]), (index: 3, bytes: [1, 2]), (index: 4, bytes: [1, 2, 3])])
        }
    }

    @Test func errorsDescribeThemselves() {
        let parameters = ErasureCode.ParameterError(dataSlices: 5, totalSlices: 5)
        #expect(parameters.description.contains("255"))
        #expect(parameters.description.contains("5"))
        #expect(ErasureCode.DecodeError.tooFewSlices(received: 2, required: 3).description.contains("3"))
        #expect(ErasureCode.DecodeError.duplicateIndex(9).description.contains("9"))
    }
}

@Suite("GF256")
struct GaloisFieldTests {
    /// a · b by shift-and-add with reduction modulo 0x11D: the textbook definition, independent of the tables.
    static func slowMultiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var product = 0
        var a = Int(a)
        var b = Int(b)
        while b != 0 {
            if b & 1 != 0 {
                product ^= a
            }
            b >>= 1
            a <<= 1
            if a & 0x100 != 0 {
                a ^= 0x11D
            }
        }
        return UInt8(product)
    }

    @Test func twoGeneratesEveryNonZeroElement() {
        let powers = (0..<255).map { GF256.power(ofGenerator: $0) }
        #expect(Set(powers).count == 255)
        #expect(!powers.contains(0))
        #expect(GF256.power(ofGenerator: 0) == 1)
        #expect(GF256.power(ofGenerator: 1) == 2)
        #expect(GF256.power(ofGenerator: 8) == 0x1D)
        #expect(GF256.power(ofGenerator: 255) == 1)
    }

    @Test func logarithmsInvertExponentials() {
        for exponent in 0..<255 {
            #expect(Int(GF256.logarithms[Int(GF256.power(ofGenerator: exponent))]) == exponent)
        }
    }

    @Test func everyNonZeroElementTimesItsInverseIsOne() {
        for a in UInt8(1)...255 {
            #expect(GF256.multiply(a, GF256.inverse(a)) == 1, "a = \(a)")
        }
    }

    @Test func logarithmMultiplicationMatchesTheDefinition() {
        for a in UInt8(0)...255 {
            for b in UInt8(0)...255 where GF256.multiply(a, b) != Self.slowMultiply(a, b) {
                Issue.record("\(a) · \(b): \(GF256.multiply(a, b)), expected \(Self.slowMultiply(a, b))")
            }
        }
    }

    @Test func multiplicationTableMatchesLogarithmMultiplication() {
        let table = GF256.multiplicationTable
        #expect(table.count == 65536)
        for a in UInt8(0)...255 {
            for b in UInt8(0)...255 {
                let fromTable = table[Int(a) * 256 + Int(b)]
                if fromTable != GF256.multiply(a, b) {
                    Issue.record("table[\(a) * 256 + \(b)] = \(fromTable), expected \(GF256.multiply(a, b))")
                }
            }
        }
    }
}
