/// A systematic (n, k) Reed–Solomon erasure code over GF(2^8), bit-identical to Luigi Rizzo's fec.c (980624)
/// and to zfec.
///
/// A group of k equal-length *data slices* is extended with n − k *parity slices* of the same length, and any
/// k of the n slices, whichever they are, give the data back. Slices are numbered 0..<n: numbers below k are
/// the data slices themselves (the code is systematic, so they are sent unchanged), numbers k..<n are parity.
///
/// ## Construction
///
/// The code is fixed by its n × k encoding matrix E: slice i is Σⱼ E[i][j] · data[j], byte by byte, in `GF256`.
/// E is built exactly as fec.c and zfec build it, which is what makes the parity bytes identical:
///
/// 1. The Vandermonde matrix V (n × k) evaluates the powers 0..<k at the points 0, α⁰, α¹, …, α^(n−2):
///    row 0 is (1, 0, …, 0) and row r + 1, column c is α^(r·c mod 255).
/// 2. E = V × inverse(V's top k × k block). Its top k rows are therefore the identity (data slices pass
///    through) and rows k..<n are the parity rows.
///
/// Any k rows of V come from k distinct points, so every k × k submatrix of E is invertible: that is why any
/// k slices suffice. Decoding inverts the submatrix of the k rows received (Gauss–Jordan) and applies it.
///
/// The limit n ≤ 255 keeps the points distinct and matches the 8-bit slice counters of the packet header (zfec,
/// which allows n = 256, crashes decoding k = 256). k = n is refused because a code without parity protects
/// nothing.
///
/// Building a code costs O(k³) once; keep it for as long as the parameters stay the same. It is an immutable
/// value and can be shared between tasks.
public struct ErasureCode: Sendable {
    /// k: the number of slices the data is cut into, and the number needed to recover it.
    public let dataSlices: Int
    /// n: data slices plus parity slices, the number of slices sent per group.
    public let totalSlices: Int
    /// The largest n the code supports.
    public static let maximumTotalSlices = 255

    /// Rows k..<n of E, row-major: the coefficients of parity slice k + p are
    /// `parityMatrix[p * k ..< (p + 1) * k]`. The identity rows are implicit.
    private let parityMatrix: [UInt8]

    /// n − k: how many slices of a group may be lost.
    public var paritySlices: Int { totalSlices - dataSlices }

    /// Builds the code for k data slices out of n slices in all.
    ///
    /// - Throws: `ParameterError` unless 1 ≤ k < n ≤ 255.
    public init(dataSlices k: Int, totalSlices n: Int) throws(ParameterError) {
        guard 1 <= k, k < n, n <= Self.maximumTotalSlices else {
            throw ParameterError(dataSlices: k, totalSlices: n)
        }
        self.dataSlices = k
        self.totalSlices = n

        // Row `row` of the Vandermonde matrix V, column `column`.
        func vandermonde(_ row: Int, _ column: Int) -> UInt8 {
            if row == 0 {
                return column == 0 ? 1 : 0
            }
            return GF256.power(ofGenerator: (row - 1) * column)
        }

        var top = [UInt8](repeating: 0, count: k * k)
        for row in 0..<k {
            for column in 0..<k {
                top[row * k + column] = vandermonde(row, column)
            }
        }
        guard let topInverse = Self.inverted(top, size: k) else {
            preconditionFailure("a Vandermonde matrix over distinct points is invertible")
        }

        // Parity rows of E = V × inverse(top): E[row][column] = Σᵢ V[row][i] · topInverse[i][column].
        var parity = [UInt8](repeating: 0, count: (n - k) * k)
        for row in k..<n {
            for column in 0..<k {
                var sum: UInt8 = 0
                for i in 0..<k {
                    sum ^= GF256.multiply(vandermonde(row, i), topInverse[i * k + column])
                }
                parity[(row - k) * k + column] = sum
            }
        }
        self.parityMatrix = parity
    }

    /// The k coefficients that make parity slice `index` (k ≤ index < n) from the data slices: row `index` of
    /// the encoding matrix E, the numbers the reference's fec.c/zfec test vectors list.
    public func parityRow(_ index: Int) -> [UInt8] {
        precondition(
            index >= dataSlices && index < totalSlices,
            "parity slices are numbered \(dataSlices)..<\(totalSlices), not \(index)"
        )
        let start = (index - dataSlices) * dataSlices
        return Array(parityMatrix[start..<start + dataSlices])
    }

    // MARK: Encoding

    /// The n − k parity slices of a group, in order (slice numbers k..<n).
    ///
    /// - Precondition: `data` holds exactly k slices, all of the same length.
    public func encode(_ data: [[UInt8]]) -> [[UInt8]] {
        (dataSlices..<totalSlices).map { index in
            var slice: [UInt8] = []
            encodeSlice(index, from: data, into: &slice)
            return slice
        }
    }

    /// Writes slice `index` (0..<n) of the group into `output`, replacing its contents.
    ///
    /// A sender that spreads a group's slices over time can compute each one just before sending it, and can
    /// keep passing the same `output` so that no allocation happens once it has grown to the slice length.
    /// Data slices (index < k) are copied; parity slices are computed.
    ///
    /// - Precondition: `data` holds exactly k slices, all of the same length, and 0 ≤ index < n.
    public func encodeSlice(_ index: Int, from data: [[UInt8]], into output: inout [UInt8]) {
        precondition(data.count == dataSlices, "expected \(dataSlices) data slices, got \(data.count)")
        precondition(index >= 0 && index < totalSlices, "slice numbers are 0..<\(totalSlices), not \(index)")
        let length = data[0].count
        precondition(data.allSatisfy { $0.count == length }, "data slices must all have the same length")

        if index < dataSlices {
            output = data[index]
            return
        }
        if output.count == length {
            output.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            output = [UInt8](repeating: 0, count: length)
        }
        let coefficients = (index - dataSlices) * dataSlices
        GF256.withMultiplicationTable { table in
            output.withUnsafeMutableBufferPointer { destination in
                for (j, slice) in data.enumerated() {
                    slice.withUnsafeBufferPointer { source in
                        GF256.addScaled(source, by: parityMatrix[coefficients + j], to: destination, table: table)
                    }
                }
            }
        }
    }

    // MARK: Decoding

    /// Recovers the k data slices, in order, from any k distinct slices of a group.
    ///
    /// `slices` pairs each slice's number (0..<n) with its bytes, in any order. If more than k arrive, data
    /// slices are preferred (they cost nothing) and then parity slices by increasing number; the rest are
    /// ignored. Data slices that are present are returned as they are; only missing ones are computed.
    ///
    /// - Throws: `DecodeError` when a number is out of range or repeated, when the lengths differ, or when
    ///   fewer than k slices are given. Every slice is checked before any arithmetic is done.
    public func decode(_ slices: [(index: Int, bytes: [UInt8])]) throws(DecodeError) -> [[UInt8]] {
        let k = dataSlices
        let length = slices.first?.bytes.count ?? 0

        // Where in `slices` each slice number was found.
        var positionOfSlice = [Int?](repeating: nil, count: totalSlices)
        for (position, slice) in slices.enumerated() {
            guard slice.index >= 0 && slice.index < totalSlices else {
                throw DecodeError.indexOutOfRange(index: slice.index, totalSlices: totalSlices)
            }
            guard positionOfSlice[slice.index] == nil else {
                throw DecodeError.duplicateIndex(slice.index)
            }
            guard slice.bytes.count == length else {
                throw DecodeError.lengthMismatch(index: slice.index, length: slice.bytes.count, expected: length)
            }
            positionOfSlice[slice.index] = position
        }
        guard slices.count >= k else {
            throw DecodeError.tooFewSlices(received: slices.count, required: k)
        }

        // Choose the k rows of the system: row i is data slice i when it is present, so its row of E is the
        // unit vector eᵢ; each missing data slice's row is taken by the next parity slice that arrived.
        var receivedParity = (k..<totalSlices).filter { positionOfSlice[$0] != nil }.makeIterator()
        var sliceOfRow = [Int](repeating: 0, count: k)
        var missingData: [Int] = []
        for i in 0..<k {
            if positionOfSlice[i] != nil {
                sliceOfRow[i] = i
            } else {
                guard let parity = receivedParity.next() else {
                    preconditionFailure("k distinct slices include a parity slice for every missing data slice")
                }
                sliceOfRow[i] = parity
                missingData.append(i)
            }
        }
        func bytes(ofSlice index: Int) -> [UInt8] {
            slices[positionOfSlice[index]!].bytes
        }
        if missingData.isEmpty {
            return (0..<k).map(bytes(ofSlice:))
        }

        // The k × k matrix M of the chosen rows of E. The received slices are M × data, so data = M⁻¹ × received.
        var matrix = [UInt8](repeating: 0, count: k * k)
        for (row, index) in sliceOfRow.enumerated() {
            if index < k {
                matrix[row * k + index] = 1
            } else {
                let start = (index - k) * k
                matrix.replaceSubrange(row * k..<(row + 1) * k, with: parityMatrix[start..<start + k])
            }
        }
        guard let inverse = Self.inverted(matrix, size: k) else {
            preconditionFailure("any k rows of a Vandermonde-derived encoding matrix are independent")
        }

        // Row i of M⁻¹ is eᵢ for every data slice present (its equation says dataᵢ = receivedᵢ), so only the
        // missing rows need computing.
        var data = (0..<k).map { i in positionOfSlice[i] != nil ? bytes(ofSlice: i) : [] }
        GF256.withMultiplicationTable { table in
            for i in missingData {
                var recovered = [UInt8](repeating: 0, count: length)
                recovered.withUnsafeMutableBufferPointer { destination in
                    for (row, index) in sliceOfRow.enumerated() {
                        slices[positionOfSlice[index]!].bytes.withUnsafeBufferPointer { source in
                            GF256.addScaled(source, by: inverse[i * k + row], to: destination, table: table)
                        }
                    }
                }
                data[i] = recovered
            }
        }
        return data
    }

    // MARK: Matrix arithmetic

    /// The inverse of a `size` × `size` matrix over GF(2^8) (row-major), or nil if it is singular.
    ///
    /// Gauss–Jordan elimination on [matrix | identity]: for each column pick a row with a non-zero entry as
    /// pivot, scale it to 1, and clear the column from every other row. Rows whose entry is already zero are
    /// skipped, which makes decoding cheap when most rows are identity rows of received data slices.
    private static func inverted(_ matrix: [UInt8], size: Int) -> [UInt8]? {
        var reduced = matrix
        var inverse = [UInt8](repeating: 0, count: size * size)
        for i in 0..<size {
            inverse[i * size + i] = 1
        }

        return GF256.withMultiplicationTable { table -> [UInt8]? in
            reduced.withUnsafeMutableBufferPointer { left -> [UInt8]? in
                inverse.withUnsafeMutableBufferPointer { right -> [UInt8]? in
                    // Row `index` of `rows`, from column `from` on.
                    func row(_ rows: UnsafeMutableBufferPointer<UInt8>, _ index: Int, from: Int = 0)
                        -> UnsafeMutableBufferPointer<UInt8>
                    {
                        UnsafeMutableBufferPointer(rebasing: rows[index * size + from..<(index + 1) * size])
                    }

                    for column in 0..<size {
                        guard let pivot = (column..<size).first(where: { left[$0 * size + column] != 0 }) else {
                            return nil
                        }
                        if pivot != column {
                            for c in 0..<size {
                                left.swapAt(pivot * size + c, column * size + c)
                                right.swapAt(pivot * size + c, column * size + c)
                            }
                        }

                        // Scale the pivot row so the pivot becomes 1. Columns left of `column` are already zero in
                        // it, so the left half only needs updating from `column` on.
                        let pivotValue = left[column * size + column]
                        if pivotValue != 1 {
                            let scale = table.baseAddress! + (Int(GF256.inverse(pivotValue)) &<< 8)
                            for c in column..<size {
                                left[column * size + c] = scale[Int(left[column * size + c])]
                            }
                            for c in 0..<size {
                                right[column * size + c] = scale[Int(right[column * size + c])]
                            }
                        }

                        let pivotLeft = UnsafeBufferPointer(row(left, column, from: column))
                        let pivotRight = UnsafeBufferPointer(row(right, column))
                        for other in 0..<size where other != column {
                            let factor = left[other * size + column]
                            guard factor != 0 else { continue }
                            GF256.addScaled(pivotLeft, by: factor, to: row(left, other, from: column), table: table)
                            GF256.addScaled(pivotRight, by: factor, to: row(right, other), table: table)
                        }
                    }
                    return Array(right)
                }
            }
        }
    }
}

extension ErasureCode {
    /// The (k, n) given to `ErasureCode.init` is outside 1 ≤ k < n ≤ 255.
    public struct ParameterError: Error, Equatable, CustomStringConvertible {
        /// The k that was asked for.
        public var dataSlices: Int
        /// The n that was asked for.
        public var totalSlices: Int

        public init(dataSlices: Int, totalSlices: Int) {
            self.dataSlices = dataSlices
            self.totalSlices = totalSlices
        }

        public var description: String {
            "an erasure code needs 1 ≤ data slices < total slices ≤ \(ErasureCode.maximumTotalSlices), "
                + "got \(dataSlices) data slices of \(totalSlices)"
        }
    }

    /// Why `ErasureCode.decode` could not recover a group.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        /// Fewer than k distinct slices were given.
        case tooFewSlices(received: Int, required: Int)
        /// A slice number is negative or not below n.
        case indexOutOfRange(index: Int, totalSlices: Int)
        /// The same slice number was given twice.
        case duplicateIndex(Int)
        /// A slice's length differs from the first slice's.
        case lengthMismatch(index: Int, length: Int, expected: Int)

        public var description: String {
            switch self {
            case .tooFewSlices(let received, let required):
                "cannot decode from \(received) slices: \(required) distinct slices are needed"
            case .indexOutOfRange(let index, let totalSlices):
                "slice number \(index) is out of range: slices are numbered 0..<\(totalSlices)"
            case .duplicateIndex(let index):
                "slice number \(index) was given more than once"
            case .lengthMismatch(let index, let length, let expected):
                "slice \(index) has \(length) bytes, but the first slice has \(expected)"
            }
        }
    }
}
