/// The unreflected CRC-32 with polynomial 0x04C11DB7 (no final XOR), which MPEG-2 sections and Ogg pages use with
/// different initial values.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index) << 24
        for _ in 0..<8 {
            crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1
        }
        return crc
    }

    /// Continues `crc` over `bytes`.
    static func update(_ crc: UInt32, _ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = crc
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))]
        }
        return crc
    }
}

/// The CRC-32 of MPEG-2 sections (ISO/IEC 13818-1): initial value all ones.
enum MPEGCRC32 {
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        CRC32.update(0xFFFF_FFFF, bytes)
    }
}
