/// Arithmetic in GF(2^8), the field Luigi Rizzo's fec.c and zfec compute in.
///
/// Elements are bytes. Addition (and subtraction) is XOR. Multiplication is polynomial multiplication modulo
/// the primitive polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D, written `"101110001"` in fec.c), whose root α = x = 2
/// generates every non-zero element: each `a ≠ 0` is α^log(a) for exactly one log(a) in 0..<255. Using any other
/// polynomial or generator gives a valid code that is *not* wire-compatible with fec.c and zfec.
///
/// The tables are built once, on first use, and never change, so they are safe to read from any thread.
public enum GF256 {
    /// The primitive polynomial x⁸ + x⁴ + x³ + x² + 1, bit i holding the coefficient of xⁱ.
    public static let primitivePolynomial: Int = 0x11D

    /// The number of non-zero elements, which is the order of α: α^255 = 1.
    public static let multiplicativeOrder = 255

    /// `exponentials[i]` = α^i for 0 ≤ i < 510. The second half repeats the first so that
    /// `exponentials[log a + log b]` needs no reduction modulo 255.
    public static let exponentials: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 2 * GF256.multiplicativeOrder)
        var element = 1
        for exponent in 0..<GF256.multiplicativeOrder {
            table[exponent] = UInt8(element)
            table[exponent + GF256.multiplicativeOrder] = UInt8(element)
            // Multiply by α = x: shift left, and reduce by the polynomial when x⁸ appears.
            element <<= 1
            if element & 0x100 != 0 {
                element ^= GF256.primitivePolynomial
            }
        }
        return table
    }()

    /// `logarithms[a]` = log_α(a) for a ≠ 0. `logarithms[0]` is 0 but meaningless: zero has no logarithm,
    /// and every function here tests for zero before looking one up.
    public static let logarithms: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for exponent in 0..<GF256.multiplicativeOrder {
            table[Int(GF256.exponentials[exponent])] = UInt8(exponent)
        }
        return table
    }()

    /// All 65 536 products: `multiplicationTable[a * 256 + b]` = a · b.
    ///
    /// Slice arithmetic multiplies thousands of bytes by one coefficient, so it reads one 256-byte row of this
    /// table (`a * 256 ..< a * 256 + 256`) instead of doing two logarithm lookups and an exponential per byte.
    public static let multiplicationTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256 * 256)
        for a in 1..<256 {
            for b in 1..<256 {
                table[a << 8 | b] = GF256.multiply(UInt8(a), UInt8(b))
            }
        }
        return table
    }()

    /// α^exponent, for any exponent (it is reduced modulo 255 first, as α^255 = 1).
    @inlinable
    public static func power(ofGenerator exponent: Int) -> UInt8 {
        let reduced = exponent % multiplicativeOrder
        return exponentials[reduced < 0 ? reduced + multiplicativeOrder : reduced]
    }

    /// a · b, computed from the logarithm tables: α^((log a + log b) mod 255), with zero absorbing.
    ///
    /// This is the definition the multiplication table is built from; hot loops use the table instead.
    public static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        guard a != 0, b != 0 else { return 0 }
        return exponentials[Int(logarithms[Int(a)]) + Int(logarithms[Int(b)])]
    }

    /// The multiplicative inverse α^(255 − log a). Zero has none: passing it is a programming error.
    public static func inverse(_ a: UInt8) -> UInt8 {
        precondition(a != 0, "zero has no multiplicative inverse in GF(2^8)")
        return exponentials[multiplicativeOrder - Int(logarithms[Int(a)])]
    }

    /// Calls `body` with the multiplication table's storage, so a hot loop can index it without bounds checks
    /// or the lazy-initialisation check that every read of a `static let` carries.
    @inlinable
    public static func withMultiplicationTable<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        multiplicationTable.withUnsafeBufferPointer(body)
    }

    /// `destination[i] ^= coefficient · source[i]` for every i: adds a scaled slice to an accumulator.
    ///
    /// This is the whole cost of encoding and decoding. A zero coefficient contributes nothing and is skipped; a
    /// coefficient of one is a plain XOR; any other reads the coefficient's row of `table` (which must be
    /// `multiplicationTable`'s storage, see `withMultiplicationTable`) once per byte. The loops are over unsafe
    /// pointers so that the optimiser can drop bounds checks and unroll them.
    ///
    /// - Precondition: `source` and `destination` have the same count and do not overlap.
    @inlinable
    public static func addScaled(
        _ source: UnsafeBufferPointer<UInt8>,
        by coefficient: UInt8,
        to destination: UnsafeMutableBufferPointer<UInt8>,
        table: UnsafeBufferPointer<UInt8>
    ) {
        precondition(source.count == destination.count, "slices must have equal lengths")
        precondition(table.count == 256 * 256, "table must be GF256.multiplicationTable")
        guard coefficient != 0, let from = source.baseAddress, let to = destination.baseAddress else { return }
        let count = source.count
        if coefficient == 1 {
            for i in 0..<count {
                to[i] ^= from[i]
            }
        } else {
            let products = table.baseAddress! + (Int(coefficient) &<< 8)
            for i in 0..<count {
                to[i] ^= products[Int(from[i])]
            }
        }
    }
}
