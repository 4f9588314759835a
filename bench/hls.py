#!/usr/bin/env python3
"""HLS on one machine: what HLS players cost a Floe origin, straight and behind the shipped nginx (stdlib only).

    python3 bench/hls.py --players 5000 [--direct-players 1000] [--listeners 1000] [--steady 30]
                         [--floe-binary .build/release/floe]

One Floe (an ffmpeg source on /bench, HLS on by default: 2 s segments, 0.5 s parts), one run, in this order
(loopback only):

  1. The origin alone with its source: CPU over the idle window.
  2. Icecast-protocol listeners for reference: --listeners with bench/loadgen.c; CPU ms per listener-second.
  3. HLS players straight at Floe: --direct-players with bench/hlsload.c (reload every target duration, fetch
     each new segment); CPU ms per HLS client-second and the request rate Floe answered.
  4. The same players behind nginx with deploy/nginx/floe-hls.conf, at 1,000 and at --players: Floe's CPU and
     request rate (from its floe_hls_requests_total) must stay flat, whatever the number of players; nginx's
     CPU is reported beside them.

Appends one JSON line to bench/out/hls.jsonl and prints a Markdown table.
"""
import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import relaychain  # noqa: E402
import run as bench  # noqa: E402

HLSLOAD_SRC = bench.BENCH_DIR / "hlsload.c"
HLSLOAD_BIN = bench.OUT_DIR / "hlsload"
NGINX_CONF = bench.BENCH_DIR.parent / "deploy" / "nginx" / "floe-hls.conf"
PLAYLIST = bench.MOUNT + ".m3u8"


def hls_requests(server):
    """Floe's HLS requests answered so far, all kinds."""
    status, body = server.admin_get("/metrics")
    if status != 200:
        raise bench.BenchError(f"/metrics: {status} {body[:200]}")
    return sum(float(m.group(1)) for m in re.finditer(r'^floe_hls_requests_total\{[^}]*\} (\S+)$', body, re.M))


class Nginx:
    """nginx with the shipped configuration, its origin and port changed to this run's."""

    def __init__(self, upstream_port, tmpdir):
        self.port = bench.free_port()
        self.dir = Path(tmpdir) / "nginx"
        self.dir.mkdir()
        site = (NGINX_CONF.read_text()
                .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
                .replace("listen 8080;", f"listen 127.0.0.1:{self.port} backlog=4096;")
                .replace("/var/lib/nginx/", f"{self.dir}/"))
        conf = self.dir / "nginx.conf"
        conf.write_text(f"""worker_processes 1;
daemon off;
master_process off;
worker_rlimit_nofile 40000;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 20000; }}
http {{
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
{site}
}}
""")
        self.log = open(self.dir / "nginx.out", "wb")
        self.proc = harness.spawn(["nginx", "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(conf)],
                                  self.dir, self.log, raise_nofile=True)
        bench.wait_port(self.port, self.proc, timeout=10)

    def close(self):
        bench.stop(self.proc, "nginx", 5)
        self.log.close()


def run_players(port, players, args):
    """hlsload with `players` players on `port`; returns (Popen, events, lock) like relaychain.run_loadgens."""
    cmd = [str(HLSLOAD_BIN), "--host", bench.HOST, "--port", str(port), "--path", PLAYLIST,
           "--players", str(players), "--rate", str(args.rate), "--duration", str(args.steady)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=bench.raise_nofile, start_new_session=True)
    events = [set()]
    lock = threading.Condition()

    def reader():
        for raw in proc.stderr:
            line = raw.decode(errors="replace")
            if line.startswith("EVENT "):
                with lock:
                    events[0].add(line.split()[1])
                    lock.notify_all()

    threading.Thread(target=reader, daemon=True).start()
    return proc, events, lock


def measure_players(server, port, players, args, nginx=None):
    """Players on `port` (Floe's, or nginx's in front of it) over a steady window: Floe's CPU and request rate,
    nginx's CPU, and the players' own report."""
    proc, events, lock = run_players(port, players, args)
    relaychain.wait_event(events, lock, "ramped", players / args.rate + 30)
    c0, r0, t0 = relaychain.cpu_s(server.pid), hls_requests(server), time.monotonic()
    n0 = relaychain.cpu_s(nginx.proc.pid) if nginx else 0
    relaychain.wait_event(events, lock, "done", args.steady + 30)
    c1, r1, t1 = relaychain.cpu_s(server.pid), hls_requests(server), time.monotonic()
    n1 = relaychain.cpu_s(nginx.proc.pid) if nginx else 0
    out, _ = proc.communicate(timeout=60)
    report = json.loads(out.decode().strip().splitlines()[-1])
    wall = t1 - t0
    return {
        "players": players,
        "floe_cpu_pct": round(100 * (c1 - c0) / wall, 2),
        "floe_requests_per_s": round((r1 - r0) / wall, 1),
        "floe_cpu_ms_per_player_s": round(1000 * (c1 - c0) / (players * wall), 4),
        "nginx_cpu_pct": round(100 * (n1 - n0) / wall, 1) if nginx else None,
        "player_requests_per_s": report["requests_per_s"],
        "failures": report["failures"] + report["connect_errors"],
        "behind": report["behind"],
        "slowest_segment_ms": report["slowest_segment_ms"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--players", type=int, default=5000, help="HLS players behind nginx (also measured at 1,000)")
    ap.add_argument("--direct-players", type=int, default=1000, help="HLS players straight at Floe")
    ap.add_argument("--listeners", type=int, default=1000, help="Icecast-protocol listeners, for reference")
    ap.add_argument("--rate", type=float, default=250.0, help="players (and listeners) started per second")
    ap.add_argument("--steady", type=float, default=30.0)
    ap.add_argument("--idle-window", type=float, default=15.0)
    ap.add_argument("--floe-binary", default=".build/release/floe")
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    found, candidates = bench.find_floe_binary(args.floe_binary)
    if not found:
        ap.error(f"floe binary not found: {args.floe_binary} (looked in {', '.join(map(str, candidates))})")
    bench.ensure_built(bench.LOADGEN_SRC, bench.LOADGEN_BIN)
    bench.ensure_built(HLSLOAD_SRC, HLSLOAD_BIN)
    relaychain.ensure_noise_mp3()
    clients = max(args.players, args.direct_players, args.listeners) + 500

    def run():
        quiet = bench.wait_quiet(30)
        with harness.FloeServer(found, "hls", clients, keep_tmp=args.keep_tmp) as server:
            server.start()
            relaychain.noise_source(server, bench.MOUNT)
            server.wait_source_live(bench.MOUNT)
            time.sleep(8)   # three segments in the playlist
            c0, t0 = relaychain.cpu_s(server.pid), time.monotonic()
            time.sleep(args.idle_window)
            idle = round(100 * (relaychain.cpu_s(server.pid) - c0) / (time.monotonic() - t0), 2)
            bench.log(f"origin alone: {idle} % of a core")

            procs, events, lock = relaychain.run_loadgens([server.port], argparse.Namespace(
                listeners=args.listeners, rate=args.rate, steady=args.steady))
            relaychain.wait_event(events, lock, "ramped", args.listeners / args.rate + 40)
            c0, t0 = relaychain.cpu_s(server.pid), time.monotonic()
            relaychain.wait_event(events, lock, "done", args.steady + 30)
            c1, t1 = relaychain.cpu_s(server.pid), time.monotonic()
            lg = relaychain.finish_loadgens(procs)[0]
            steady = 0.5 * (lg["alive_at_ramp"] + lg["alive_at_end"])
            icecast = {"listeners": args.listeners, "floe_cpu_pct": round(100 * (c1 - c0) / (t1 - t0), 2),
                       "floe_cpu_ms_per_listener_s": round(1000 * (c1 - c0) / (steady * (t1 - t0)), 4),
                       "failed": lg["failed"], "stalled": lg["stalled"]}
            bench.log(f"Icecast-protocol listeners: {icecast}")
            time.sleep(3)

            direct = measure_players(server, server.port, args.direct_players, args)
            bench.log(f"HLS straight at Floe: {direct}")
            time.sleep(3)

            nginx = Nginx(server.port, server.tmpdir)
            try:
                cached = []
                for players in sorted({1000, args.players}):
                    cached.append(measure_players(server, nginx.port, players, args, nginx=nginx))
                    bench.log(f"HLS behind nginx: {cached[-1]}")
                    time.sleep(3)
            finally:
                nginx.close()
        flat = len(cached) < 2 or cached[-1]["floe_requests_per_s"] <= cached[0]["floe_requests_per_s"] * 1.25 + 1
        return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "steady_s": args.steady, "quiet_before_pct": quiet,
                "origin_alone_cpu_pct": idle, "icecast_listeners": icecast, "direct": direct, "behind_nginx": cached,
                "pass": flat and all(c["failures"] == 0 for c in cached + [direct])}

    def report(result):
        harness.append_json(bench.OUT_DIR / "hls.jsonl", result)
        print("| clients | path | Floe CPU % of a core | Floe CPU ms / client-s | Floe requests/s | nginx CPU % |"
              " player requests/s | failures | behind | slowest segment ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        icecast = result["icecast_listeners"]
        print(f"| {icecast['listeners']:,} Icecast listeners | straight | {icecast['floe_cpu_pct']} |"
              f" {icecast['floe_cpu_ms_per_listener_s']} | - | - | - | {icecast['failed']} | {icecast['stalled']} stalled | - |")
        for path, row in [("straight", result["direct"])] + [("nginx", row) for row in result["behind_nginx"]]:
            print(f"| {row['players']:,} HLS players | {path} | {row['floe_cpu_pct']} | {row['floe_cpu_ms_per_player_s']} |"
                  f" {row['floe_requests_per_s']} | {row['nginx_cpu_pct'] if row['nginx_cpu_pct'] is not None else '-'} |"
                  f" {row['player_requests_per_s']} | {row['failures']} | {row['behind']} | {row['slowest_segment_ms']} |")
        print(f"\norigin alone: {result['origin_alone_cpu_pct']} % of a core; Floe's request rate behind nginx "
              f"{'stays flat' if result['pass'] else 'does NOT stay flat (or players failed)'}")

    return harness.run_test("hls", run, report)


if __name__ == "__main__":
    sys.exit(main())
