#!/usr/bin/python3
"""fec_decode.py CAPTURE OUT: an independent decoder of Floe's FEC stream, written from the format's
documentation (Sources/FloeFEC/FECPacket.swift) and using zfec (Debian python3-zfec) for the erasure code.

CAPTURE holds datagrams as a 4-byte big-endian length followed by the datagram. Each group with at least k
distinct slices is decoded from the first k slices that came (parity slices preferred, so the code is exercised)
and its first group-bytes bytes are written to OUT in group order. Prints one line per group to stdout."""
import struct
import sys

import zfec

HEADER = struct.Struct(">4sBBBBIIHHQI")  # 32 bytes


def main(capture_path, out_path):
    data = open(capture_path, "rb").read()
    groups = {}  # number -> (k, n, group_bytes, {slice: bytes})
    order = []
    offset = 0
    while offset + 4 <= len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        packet = data[offset + 4:offset + 4 + length]
        offset += 4 + length
        magic, version, k, n, number_in_group, group, group_bytes, slice_bytes, flags, _media, _reserved = \
            HEADER.unpack(packet[:32])
        if magic != b"FLFC" or version != 1 or flags & 2:
            continue
        if len(packet) != 32 + slice_bytes:
            raise SystemExit(f"bad length in group {group}")
        if group not in groups:
            groups[group] = (k, n, group_bytes, {})
            order.append(group)
        groups[group][3][number_in_group] = packet[32:]
    with open(out_path, "wb") as out:
        for group in order:
            k, n, group_bytes, slices = groups[group]
            if len(slices) < k:
                print(f"group {group}: lost ({len(slices)} of {k})")
                continue
            chosen = sorted(slices, reverse=True)[:k]  # parity first
            blocks = zfec.Decoder(k, n).decode([slices[i] for i in chosen], chosen)
            out.write(b"".join(blocks)[:group_bytes])
            print(f"group {group}: decoded from slices {sorted(chosen)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
