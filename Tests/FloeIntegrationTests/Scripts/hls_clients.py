#!/usr/bin/env python3
"""Many HLS players at once, the way a player fetches: reload the playlist, fetch each new segment in order.

usage: hls_clients.py HOST PORT PLAYLIST_PATH CLIENTS SECONDS

Every client starts together, joins three segments from the live edge and then fetches each segment it has not
fetched, reloading the playlist every half target duration. Each response must be 200, and a segment must be
whole transport stream packets. Prints one JSON object: counts, and the first errors seen.
"""
import asyncio
import json
import sys
import time


async def get(host, port, path):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


async def client(host, port, playlist_path, deadline, totals, errors):
    base = playlist_path.rsplit("/", 1)[0] + "/"
    fetched = set()
    first = True
    while time.monotonic() < deadline:
        status, body = await get(host, port, playlist_path)
        totals["playlists"] += 1
        if status != 200:
            errors.append(f"playlist: {status}")
            await asyncio.sleep(0.5)
            continue
        lines = body.decode().splitlines()
        target = next((int(line.split(":")[1]) for line in lines if line.startswith("#EXT-X-TARGETDURATION:")), 2)
        segments = [line for line in lines if line and not line.startswith("#")]
        if first:
            segments = segments[-3:]
            first = False
        for uri in segments:
            if uri in fetched:
                continue
            status, data = await get(host, port, base + uri)
            totals["segments"] += 1
            if status != 200 or not data or data[0] != 0x47 or len(data) % 188:
                errors.append(f"{uri}: {status}, {len(data)} bytes")
            fetched.add(uri)
        await asyncio.sleep(target / 2)


async def main():
    host, port, playlist_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    clients, seconds = int(sys.argv[4]), float(sys.argv[5])
    totals = {"playlists": 0, "segments": 0}
    errors = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(client(host, port, playlist_path, deadline, totals, errors) for _ in range(clients)))
    print(json.dumps({"clients": clients, **totals, "failures": len(errors), "errors": errors[:10]}))


asyncio.run(main())
