#!/usr/bin/env python3
"""Relays on one machine: an origin and two edges that relay its mount, listeners on the edges (stdlib only).

    python3 bench/relaychain.py --listeners 1000 [--steady 30] [--floe-binary .build/release/floe]

One run, four measurements (loopback only):

  1. A plain Floe (an ffmpeg source, N listeners) for the reference figures: CPU per listener-second.
  2. An origin with the same source, and edges A and B, each relaying the origin's mount (YAML `relay:`).
     The origin's CPU is measured with no listener on the edges, then while N listeners read from each edge:
     it must not depend on the edges' listeners (it serves one relay connection per edge either way).
  3. Each edge's CPU per listener-second over the same steady window, beside the plain Floe's.
  4. Each hop's added latency: probe listeners on the origin and on each edge record when every byte arrives;
     the source is noise (no two frames alike), so a 64-byte signature seen at the origin is found again at the
     edge, and the difference is what the hop added (p50, p99 and max over the window). Target: at most one
     block (block-duration, 0.5 s) plus 50 ms.

Appends one JSON line to bench/out/relaychain.jsonl and prints a Markdown table.
"""
import argparse
import bisect
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import run as bench  # noqa: E402

NOISE_MP3 = bench.OUT_DIR / "noise-128k-44100-stereo-60s.mp3"
SIGNATURE = 64


def ensure_noise_mp3():
    bench.ensure_mp3(NOISE_MP3, "anoisesrc=color=pink:sample_rate=44100:duration=60:amplitude=0.3", 900_000)


def noise_source(server, mount):
    """A paced ffmpeg source of NOISE_MP3 on `mount` of `server` (stopped with the server)."""
    cmd = bench.source_cmd(server.port, server.pw["source"], mount, mp3=NOISE_MP3)
    proc = harness.spawn(cmd, server.tmpdir, server._source_log)
    server.sources.append(proc)
    return proc


class Probe(threading.Thread):
    """A listener that records, for every read, when it arrived and the stream offset it ended at."""

    def __init__(self, port, mount):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((bench.HOST, port), timeout=10)
        self.sock.sendall(f"GET {mount} HTTP/1.0\r\nUser-Agent: floe-bench-latency-probe\r\n\r\n".encode())
        self.data = bytearray()
        self.arrivals = []      # (monotonic time, end offset in self.data)
        self.stopped = False
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise bench.BenchError(f"probe on {port}{mount}: closed before the head")
            head += chunk
        status, _, body = head.partition(b"\r\n\r\n")
        if b" 200 " not in status.split(b"\r\n")[0]:
            raise bench.BenchError(f"probe on {port}{mount}: {status[:60]!r}")
        self.data += body
        self.arrivals.append((time.monotonic(), len(self.data)))

    def run(self):
        self.sock.settimeout(1.0)
        while not self.stopped:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk
            self.arrivals.append((time.monotonic(), len(self.data)))

    def arrival_of(self, offset):
        """When the byte at `offset` arrived."""
        ends = [end for _, end in self.arrivals]
        i = bisect.bisect_right(ends, offset)
        return self.arrivals[min(i, len(self.arrivals) - 1)][0]

    def close(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass


def hop_latency(upstream, downstream, since):
    """Added latency (seconds) between two probes: for signatures every ~16 KB of the upstream's stream that
    arrived after `since`, the downstream's arrival time minus the upstream's."""
    delays = []
    offset = next((end for t, end in upstream.arrivals if t >= since), None)
    if offset is None:
        return delays
    down = bytes(downstream.data)
    while offset + SIGNATURE <= len(upstream.data):
        signature = bytes(upstream.data[offset:offset + SIGNATURE])
        found = down.find(signature)
        # Only signatures the downstream got once (the source loops every 60 s).
        if found >= 0 and down.find(signature, found + 1) < 0:
            delays.append(downstream.arrival_of(found + SIGNATURE - 1) - upstream.arrival_of(offset + SIGNATURE - 1))
        offset += 16_000
    return delays


def cpu_s(pid):
    return sum(bench.proc_cpu_s(pid))


def run_loadgens(ports, args):
    """N listeners on each port, one loadgen each, started together; returns (samples at ramped, at done, the
    loadgens' JSON results). `samples` is called at both window edges and its result kept."""
    procs = []
    for port in ports:
        cmd = [str(bench.LOADGEN_BIN), "--host", bench.HOST, "--port", str(port), "--path", bench.MOUNT,
               "--listeners", str(args.listeners), "--rate", str(args.rate), "--duration", str(args.steady),
               "--stall-ms", "2000", "--ramp-grace", "10", "--read-interval-ms", "250", "--json"]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      preexec_fn=bench.raise_nofile, start_new_session=True))
    events = [set() for _ in procs]
    lock = threading.Condition()

    def reader(i, p):
        for raw in p.stderr:
            line = raw.decode(errors="replace")
            if line.startswith("EVENT "):
                with lock:
                    events[i].add(line.split()[1])
                    lock.notify_all()

    threads = [threading.Thread(target=reader, args=(i, p), daemon=True) for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    return procs, events, lock


def wait_event(events, lock, what, timeout):
    deadline = time.monotonic() + timeout
    with lock:
        while not all(what in e for e in events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise bench.BenchError(f"loadgens did not all report '{what}' in time")
            lock.wait(left)


def finish_loadgens(procs):
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=90)
        text = out.decode(errors="replace").strip()
        if p.returncode != 0 or not text:
            raise bench.BenchError(f"loadgen failed (rc {p.returncode}): {text}")
        results.append(json.loads(text.splitlines()[-1]))
    return results


def plain_floe(args):
    """Reference: one Floe, its own source, N listeners; CPU ms per listener-second."""
    with harness.FloeServer(args.floe_binary_path, "plain", args.listeners + 100, keep_tmp=args.keep_tmp) as plain:
        plain.start()
        noise_source(plain, bench.MOUNT)
        plain.wait_source_live(bench.MOUNT)
        time.sleep(bench.SETTLE_S)
        procs, events, lock = run_loadgens([plain.port], args)
        ramp = args.listeners / args.rate + 40
        wait_event(events, lock, "ramped", ramp)
        c0, t0 = cpu_s(plain.pid), time.monotonic()
        wait_event(events, lock, "done", args.steady + 30)
        c1, t1 = cpu_s(plain.pid), time.monotonic()
        lg = finish_loadgens(procs)[0]
        steady = 0.5 * (lg["alive_at_ramp"] + lg["alive_at_end"])
        return {
            "cpu_pct": round(100 * (c1 - c0) / (t1 - t0), 2),
            "cpu_ms_per_listener_s": round(1000 * (c1 - c0) / (steady * (t1 - t0)), 4),
            "failed": lg["failed"], "stalled": lg["stalled"], "below_90pct": lg.get("below_90pct"),
        }


def relay_chain(args):
    origin = harness.FloeServer(args.floe_binary_path, "origin", 200, keep_tmp=args.keep_tmp)
    edges = []
    try:
        origin.start()
        noise_source(origin, bench.MOUNT)
        origin.wait_source_live(bench.MOUNT)
        relay = ("relay:\n  relays:\n"
                 f"    - local-mount: {bench.MOUNT}\n"
                 f"      upstreams: [\"http://{bench.HOST}:{origin.port}{bench.MOUNT}\"]\n")
        for name in ("edge-a", "edge-b"):
            edge = harness.FloeServer(args.floe_binary_path, name, args.listeners + 100, keep_tmp=args.keep_tmp,
                                      extra_config=relay)
            edges.append(edge)
            edge.start()
            edge.wait_source_live(bench.MOUNT)
        time.sleep(bench.SETTLE_S)
        probes = [Probe(origin.port, bench.MOUNT)] + [Probe(edge.port, bench.MOUNT) for edge in edges]
        for probe in probes:
            probe.start()
        time.sleep(2)

        # The origin with no listener on the edges.
        c0, t0 = cpu_s(origin.pid), time.monotonic()
        time.sleep(args.idle_window)
        c1, t1 = cpu_s(origin.pid), time.monotonic()
        origin_idle_pct = 100 * (c1 - c0) / (t1 - t0)
        bench.log(f"origin: {origin_idle_pct:.2f} % of a core with no edge listener")

        procs, events, lock = run_loadgens([edge.port for edge in edges], args)
        wait_event(events, lock, "ramped", args.listeners / args.rate + 40)
        window_start = time.monotonic()
        before = {"origin": cpu_s(origin.pid), **{e.name: cpu_s(e.pid) for e in edges}}
        wait_event(events, lock, "done", args.steady + 30)
        after = {"origin": cpu_s(origin.pid), **{e.name: cpu_s(e.pid) for e in edges}}
        window = time.monotonic() - window_start
        loadgens = finish_loadgens(procs)
        for probe in probes:
            probe.close()
        result = {
            "origin_cpu_pct_no_edge_listeners": round(origin_idle_pct, 2),
            "origin_cpu_pct_with_edge_listeners": round(100 * (after["origin"] - before["origin"]) / window, 2),
            "edges": {},
        }
        for edge, lg in zip(edges, loadgens):
            steady = 0.5 * (lg["alive_at_ramp"] + lg["alive_at_end"])
            used = after[edge.name] - before[edge.name]
            delays = sorted(hop_latency(probes[0], probes[1 + edges.index(edge)], window_start))
            result["edges"][edge.name] = {
                "cpu_pct": round(100 * used / window, 2),
                "cpu_ms_per_listener_s": round(1000 * used / (steady * window), 4) if steady else None,
                "failed": lg["failed"], "stalled": lg["stalled"], "below_90pct": lg.get("below_90pct"),
                "hop_samples": len(delays),
                "hop_ms_p50": round(1000 * statistics.median(delays), 1) if delays else None,
                "hop_ms_p99": round(1000 * delays[int(0.99 * (len(delays) - 1))], 1) if delays else None,
                "hop_ms_max": round(1000 * delays[-1], 1) if delays else None,
            }
        return result
    except bench.BenchError:
        for server in [origin] + edges:
            bench.log(f"{server.name}:\n{server.log_tails()}")
        raise
    finally:
        for edge in edges:
            edge.close()
        origin.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listeners", type=int, default=1000, help="listeners on each edge, and on the plain Floe")
    ap.add_argument("--rate", type=float, default=250.0)
    ap.add_argument("--steady", type=float, default=30.0)
    ap.add_argument("--idle-window", type=float, default=15.0, help="seconds the origin is measured before load")
    ap.add_argument("--floe-binary", default=".build/release/floe")
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    found, cands = bench.find_floe_binary(args.floe_binary)
    if not found:
        ap.error(f"floe binary not found: {args.floe_binary} (looked in {', '.join(map(str, cands))})")
    args.floe_binary_path = found
    bench.ensure_built(bench.LOADGEN_SRC, bench.LOADGEN_BIN)
    ensure_noise_mp3()

    def run():
        quiet = bench.wait_quiet(30)
        plain = plain_floe(args)
        bench.log(f"plain floe: {plain}")
        time.sleep(3)
        chain = relay_chain(args)
        target_ms = 500 + 50    # one block (block-duration 0.5 s) plus 50 ms
        hops_ok = all(e["hop_ms_max"] is not None and e["hop_ms_p99"] <= target_ms for e in chain["edges"].values())
        origin_flat = chain["origin_cpu_pct_with_edge_listeners"] <= chain["origin_cpu_pct_no_edge_listeners"] + 1.0
        return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "listeners_per_edge": args.listeners,
                "steady_s": args.steady, "quiet_before_pct": quiet, "plain": plain, "chain": chain,
                "hop_target_ms": target_ms, "pass": hops_ok and origin_flat}

    def report(result):
        harness.append_json(bench.OUT_DIR / "relaychain.jsonl", result)
        plain, chain = result["plain"], result["chain"]
        print(f"| server | listeners | CPU % of one core | CPU ms / listener-s | failed | stalled | < 90 % rate |"
              f" hop p50 ms | hop p99 ms | hop max ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| plain floe | {args.listeners:,} | {plain['cpu_pct']:.1f} | {plain['cpu_ms_per_listener_s']:.4f} |"
              f" {plain['failed']} | {plain['stalled']} | {plain['below_90pct']} | - | - | - |")
        for name, edge in chain["edges"].items():
            print(f"| {name} | {args.listeners:,} | {edge['cpu_pct']:.1f} | {edge['cpu_ms_per_listener_s']:.4f} |"
                  f" {edge['failed']} | {edge['stalled']} | {edge['below_90pct']} | {edge['hop_ms_p50']} |"
                  f" {edge['hop_ms_p99']} | {edge['hop_ms_max']} |")
        print(f"\norigin: {chain['origin_cpu_pct_no_edge_listeners']:.2f} % of a core with no edge listener, "
              f"{chain['origin_cpu_pct_with_edge_listeners']:.2f} % with {args.listeners:,} on each edge; "
              f"hop target {result['hop_target_ms']} ms: {'met' if result['pass'] else 'NOT met'}")

    return harness.run_test("relaychain", run, report)


if __name__ == "__main__":
    sys.exit(main())
