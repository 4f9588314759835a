#!/usr/bin/python3
"""zfec_bench.py: the C zfec (Debian python3-zfec) measured as bench/fec/main.swift measures Floe's code:
all n - k parity blocks of a group (or the k data blocks from the worst k blocks) for at least a second;
megabytes of group data (k x slice bytes) per second. The Python call costs a few microseconds per group."""
import os
import time

import zfec

CASES = [(8, 12, 1400), (16, 24, 1400), (32, 48, 1400), (100, 128, 1400), (8, 12, 65000)]


def measure(body):
    total, start = 0, time.perf_counter()
    while True:
        total += body()
        elapsed = time.perf_counter() - start
        if elapsed >= 1.0:
            return total / elapsed / 1e6


print("k:n:slice        encode MB/s   decode MB/s (n-k data slices lost)")
for k, n, size in CASES:
    data = [os.urandom(size) for _ in range(k)]
    encoder, decoder = zfec.Encoder(k, n), zfec.Decoder(k, n)
    parity_numbers = list(range(k, n))
    encode = measure(lambda: (encoder.encode(data, parity_numbers), k * size)[1])
    blocks = encoder.encode(data, list(range(n)))
    lost = min(n - k, k)
    numbers = list(range(lost, k)) + list(range(k, k + lost))
    received = [blocks[i] for i in numbers]
    decode = measure(lambda: (decoder.decode(received, numbers), k * size)[1])
    label = f"{k}:{n}:{size}"
    print(f"{label:<16} {encode:11.1f}   {decode:11.1f}")
