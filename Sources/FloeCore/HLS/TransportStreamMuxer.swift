import MPEGAudio
import NIOCore

/// Writes MPEG transport stream packets (ISO/IEC 13818-1) for an audio-only HLS rendition: one program with an
/// audio elementary stream and a timed-metadata stream carrying ID3 tags (Apple's "Timed Metadata for HTTP Live
/// Streaming").
///
/// ```
///  PID 0x0000  PAT ─► program 1 ─► PMT on PID 0x1000
///  PID 0x1000  PMT: PCR on 0x0100; 0x0100 audio (MPEG-1/2 audio, or ADTS AAC); 0x0101 ID3 (stream type 0x15)
///  PID 0x0100  PES stream 0xC0, PTS, first packet of each PES carries the PCR
///  PID 0x0101  PES stream 0xBD (private stream 1), data-aligned ID3v2.4 tags with the PTS they apply at
/// ```
///
/// Packets are 188 bytes; a PES that does not fill its last packet is padded with adaptation-field stuffing, as the
/// standard requires (payload bytes are never padded). Continuity counters run on across calls, so the output of
/// successive calls concatenates into one valid stream: HLS segments and their parts can be joined byte for byte.
///
/// Time is in 90 kHz ticks, wrapped to 33 bits where written.
public struct TransportStreamMuxer: Sendable {
    /// What the audio elementary stream carries.
    public enum AudioCodec: Sendable, Equatable {
        /// MPEG-1 audio (layers I–III at 32, 44.1, 48 kHz): stream type 0x03.
        case mpeg1Audio
        /// MPEG-2 (LSF) and MPEG-2.5 audio: stream type 0x04.
        case mpeg2Audio
        /// AAC in ADTS frames: stream type 0x0F.
        case adtsAAC

        /// The codec of the frame at the front of `bytes`: ADTS by its layer bits (00), otherwise MPEG audio by
        /// its version (MPEG-1 when the bytes say nothing).
        public init(firstFrame bytes: UnsafeRawBufferPointer) {
            if bytes.count >= 2, ADTSFrameHeader.couldStart(bytes, at: 0) {
                self = .adtsAAC
            } else if bytes.count >= 4, let header = MPEGFrameHeader(bytes, at: 0), header.version != .mpeg1 {
                self = .mpeg2Audio
            } else {
                self = .mpeg1Audio
            }
        }

        var streamType: UInt8 {
            switch self {
            case .mpeg1Audio: return 0x03
            case .mpeg2Audio: return 0x04
            case .adtsAAC: return 0x0F
            }
        }
    }

    public static let packetSize = 188
    static let patPID: UInt16 = 0x0000
    static let pmtPID: UInt16 = 0x1000
    public static let audioPID: UInt16 = 0x0100
    public static let metadataPID: UInt16 = 0x0101
    static let programNumber: UInt16 = 1
    /// The PCR runs this far behind the PTS of the audio it is sent with (a decoder's buffering allowance).
    static let pcrLead: Int64 = 9_000

    public var codec: AudioCodec
    private var continuity: [UInt16: UInt8] = [:]

    public init(codec: AudioCodec) {
        self.codec = codec
    }

    /// Writes the PAT and the PMT (two packets). Every HLS part starts with them, so a player can start at any part.
    public mutating func writeTables(into buffer: inout ByteBuffer) {
        var pat: [UInt8] = []
        pat.append16(Self.programNumber)
        pat.append16(0xE000 | Self.pmtPID)
        writeSection(tableID: 0x00, tableIDExtension: 1, body: pat, pid: Self.patPID, into: &buffer)

        var pmt: [UInt8] = []
        pmt.append16(0xE000 | Self.audioPID)  // PCR PID
        // Program info: the metadata pointer descriptor announcing ID3 timed metadata.
        var programInfo: [UInt8] = [0x25, 15]
        programInfo.append16(0xFFFF)
        programInfo += Self.id3Identifier
        programInfo.append(0xFF)
        programInfo += Self.id3Identifier
        programInfo += [0x00, 0x1F]  // service id; no locator record, no carriage flags, reserved bits
        programInfo.append16(Self.programNumber)
        pmt.append16(0xF000 | UInt16(programInfo.count))
        pmt += programInfo
        pmt.append(codec.streamType)
        pmt.append16(0xE000 | Self.audioPID)
        pmt.append16(0xF000)
        // The metadata stream, with its metadata descriptor.
        var metadataInfo: [UInt8] = [0x26, 13]
        metadataInfo.append16(0xFFFF)
        metadataInfo += Self.id3Identifier
        metadataInfo.append(0xFF)
        metadataInfo += Self.id3Identifier
        metadataInfo += [0x00, 0x0F]  // service id; no decoder config, no DSM-CC, reserved bits
        pmt.append(0x15)
        pmt.append16(0xE000 | Self.metadataPID)
        pmt.append16(0xF000 | UInt16(metadataInfo.count))
        pmt += metadataInfo
        writeSection(tableID: 0x02, tableIDExtension: Self.programNumber, body: pmt, pid: Self.pmtPID, into: &buffer)
    }

    /// Writes one audio PES holding `payload` (whole frames), presented at `pts`, with the PCR in its first packet.
    public mutating func writeAudio(_ payload: ByteBufferView, pts: Int64, into buffer: inout ByteBuffer) {
        writePES(streamID: 0xC0, payload: payload, pts: pts, dataAligned: false, pid: Self.audioPID, pcr: pts - Self.pcrLead, into: &buffer)
    }

    /// Writes one metadata PES holding an ID3 tag that applies at `pts`.
    public mutating func writeMetadata(_ tag: ByteBufferView, pts: Int64, into buffer: inout ByteBuffer) {
        writePES(streamID: 0xBD, payload: tag, pts: pts, dataAligned: true, pid: Self.metadataPID, pcr: nil, into: &buffer)
    }

    static let id3Identifier: [UInt8] = Array("ID3 ".utf8)

    // MARK: Packets

    private mutating func nextContinuity(_ pid: UInt16) -> UInt8 {
        let counter = continuity[pid, default: 0]
        continuity[pid] = (counter + 1) & 0x0F
        return counter
    }

    private mutating func writeSection(tableID: UInt8, tableIDExtension: UInt16, body: [UInt8], pid: UInt16, into buffer: inout ByteBuffer) {
        var section: [UInt8] = [tableID]
        // section_syntax_indicator, '0', reserved, section_length (the rest: 5 header bytes, body, CRC).
        section.append16(0xB000 | UInt16(5 + body.count + 4))
        section.append16(tableIDExtension)
        section += [0xC1, 0x00, 0x00]  // version 0, current; section 0 of 0
        section += body
        let crc = MPEGCRC32.checksum(section)
        section += [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)]
        // One packet: pointer field, the section, 0xFF filler.
        buffer.writeInteger(UInt8(0x47))
        buffer.writeInteger(UInt16(0x4000 | pid))  // payload unit start
        buffer.writeInteger(UInt8(0x10 | nextContinuity(pid)))  // payload only
        buffer.writeInteger(UInt8(0))
        buffer.writeBytes(section)
        buffer.writeRepeatingByte(0xFF, count: Self.packetSize - 5 - section.count)
    }

    private mutating func writePES(
        streamID: UInt8,
        payload: ByteBufferView,
        pts: Int64,
        dataAligned: Bool,
        pid: UInt16,
        pcr: Int64?,
        into buffer: inout ByteBuffer
    ) {
        // PES header: start code, stream id, length, flags, header length 5, PTS.
        var header: [UInt8] = [0x00, 0x00, 0x01, streamID]
        let pesLength = 3 + 5 + payload.count
        header.append16(pesLength <= 0xFFFF ? UInt16(pesLength) : 0)
        header.append(dataAligned ? 0x84 : 0x80)
        header.append(0x80)  // PTS only
        header.append(5)
        header += Self.timestamp(pts, marker: 0x20)

        let pending = header + Array(payload)
        var offset = 0
        var first = true
        while first || offset < pending.count {
            // The adaptation field's bytes after its length byte; `nil` when the packet has none.
            var adaptation: [UInt8]? = first && pcr != nil ? [0x10] + Self.pcrField(pcr!) : nil
            let room = Self.packetSize - 4 - (adaptation.map { 1 + $0.count } ?? 0)
            let wanted = pending.count - offset
            if wanted < room {
                // The last packet: stuffing in the adaptation field makes the payload end the packet.
                let stuffing = room - wanted
                if adaptation != nil {
                    adaptation! += Array(repeating: 0xFF, count: stuffing)
                } else {
                    // A field of length 0 takes one byte; a longer one starts with its flags byte.
                    adaptation = stuffing == 1 ? [] : [0x00] + Array(repeating: 0xFF, count: stuffing - 2)
                }
            }
            buffer.writeInteger(UInt8(0x47))
            buffer.writeInteger(UInt16((first ? 0x4000 : 0) | pid))
            buffer.writeInteger(UInt8((adaptation != nil ? 0x30 : 0x10) | nextContinuity(pid)))
            if let adaptation {
                buffer.writeInteger(UInt8(adaptation.count))
                buffer.writeBytes(adaptation)
            }
            let count = min(wanted, room)
            buffer.writeBytes(pending[offset..<(offset + count)])
            offset += count
            first = false
        }
    }

    /// A PTS in the five-byte form with marker bits; `marker` holds the 4-bit prefix (0x20: PTS only).
    static func timestamp(_ ticks: Int64, marker: UInt8) -> [UInt8] {
        let value = UInt64(bitPattern: ticks) & 0x1_FFFF_FFFF
        return [
            marker | UInt8((value >> 29) & 0x0E) | 0x01,
            UInt8((value >> 22) & 0xFF),
            UInt8((value >> 14) & 0xFE) | 0x01,
            UInt8((value >> 7) & 0xFF),
            UInt8((value << 1) & 0xFE) | 0x01,
        ]
    }

    /// The six-byte PCR: 33-bit base (90 kHz), six reserved bits, 9-bit extension (0).
    static func pcrField(_ ticks: Int64) -> [UInt8] {
        let base = UInt64(bitPattern: ticks) & 0x1_FFFF_FFFF
        return [
            UInt8((base >> 25) & 0xFF),
            UInt8((base >> 17) & 0xFF),
            UInt8((base >> 9) & 0xFF),
            UInt8((base >> 1) & 0xFF),
            UInt8((base << 7) & 0x80) | 0x7E,
            0x00,
        ]
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func append16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
