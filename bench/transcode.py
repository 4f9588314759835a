#!/usr/bin/env python3
"""What transcoded mounts cost: CPU per mount beside a plain Floe, and each encoder's real-time factor.

    python3 bench/transcode.py [--steady 30] [--floe-binary .build/release/floe]

Two runs of a release Floe on loopback, each with the same paced 128 kbit/s, 44.1 kHz stereo noise source on
/live (noise: the encoder's hardest case, no two frames alike):

  1. /live alone: the reference CPU.
  2. /live and four transcoded mounts: 64 kbit/s 22.05 kHz mono (CBR), 96 kbit/s stereo (CBR), VBR -V4 stereo,
     and a 32 kbit/s mono mount with `on-demand` and no listener (which should cost nothing).

Floe's CPU over the same steady window gives the cost of the encoders together (run 2 minus run 1), and each
mount's `floe_transcode_realtime_factor` from /metrics its own: seconds of one core per second of audio.
Appends one JSON line to bench/out/transcode.jsonl and prints a Markdown table.
"""
import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import relaychain  # noqa: E402
import run as bench  # noqa: E402

TRANSCODES = {
    "/t64-mono": "{ from: /live, bitrate: 64, samplerate: 22050, channels: 1 }",
    "/t96": "{ from: /live, bitrate: 96 }",
    "/tvbr": "{ from: /live, mode: vbr, quality: 4 }",
    "/t32-on-demand": "{ from: /live, bitrate: 32, samplerate: 22050, channels: 1, on-demand: true }",
}


def measure(args, transcodes):
    mounts = {"/live": {"stream-name": '"Live"'}}
    for path, settings in transcodes.items():
        mounts[path] = {"transcode": settings}
    with harness.FloeServer(args.floe_binary_path, "transcode", clients=100, mounts=mounts, keep_tmp=args.keep_tmp) as server:
        server.start()
        relaychain.noise_source(server, "/live")
        server.wait_source_live("/live")
        for path in transcodes:
            if "on-demand" not in transcodes[path]:
                server.wait_source_live(path)
        time.sleep(5)   # past the encoders' start
        before = relaychain.cpu_s(server.pid)
        started = time.monotonic()
        time.sleep(args.steady)
        cpu = relaychain.cpu_s(server.pid) - before
        wall = time.monotonic() - started
        status, metrics = server.admin_get("/metrics")
        factors = {}
        if status == 200:
            for path in transcodes:
                found = re.search(r'floe_transcode_realtime_factor\{mount="%s"\} ([0-9.e-]+)' % re.escape(path), metrics)
                factors[path] = float(found.group(1)) if found else None
        status, body = server.admin_get("/admin/stats.json")
        sources = json.loads(body)["icestats"]["sources"] if status == 200 else []
        by_mount = {source.get("mount"): source for source in sources}
        measured = {path: by_mount.get(path, {}).get("floe_measured_bitrate") for path in transcodes}
        return {"cpu_pct": 100 * cpu / wall, "realtime_factor": factors, "measured_bitrate": measured}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steady", type=float, default=30.0)
    ap.add_argument("--floe-binary", default=".build/release/floe")
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    found, cands = bench.find_floe_binary(args.floe_binary)
    if not found:
        ap.error(f"floe binary not found: {args.floe_binary} (looked in {', '.join(map(str, cands))})")
    args.floe_binary_path = found
    relaychain.ensure_noise_mp3()

    def run():
        quiet = bench.wait_quiet(30)
        plain = measure(args, {})
        bench.log(f"plain: {plain}")
        transcoded = measure(args, TRANSCODES)
        bench.log(f"transcoded: {transcoded}")
        active = [f for path, f in transcoded["realtime_factor"].items() if "on-demand" not in TRANSCODES[path]]
        # Each encoder well inside one core, and the on-demand mount without listeners idle.
        passed = all(f is not None and f < 0.5 for f in active) and not transcoded["realtime_factor"].get("/t32-on-demand")
        return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "steady_s": args.steady, "quiet_before_pct": quiet,
                "plain": plain, "transcoded": transcoded, "pass": passed}

    def report(result):
        harness.append_json(bench.OUT_DIR / "transcode.jsonl", result)
        plain, transcoded = result["plain"], result["transcoded"]
        print("| mount | settings | real-time factor (core-s per audio-s) | measured bit/s |")
        print("|---|---|---|---|")
        for path, settings in TRANSCODES.items():
            factor = transcoded["realtime_factor"].get(path)
            shown = f"{factor:.4f}" if factor is not None else "- (not encoding)"
            print(f"| {path} | `{settings}` | {shown} | {transcoded['measured_bitrate'].get(path) or '-'} |")
        print(f"\nFloe's CPU: {plain['cpu_pct']:.2f} % of a core with /live alone, {transcoded['cpu_pct']:.2f} % with "
              f"the transcoded mounts: {transcoded['cpu_pct'] - plain['cpu_pct']:.2f} % for {len(TRANSCODES) - 1} encoders.")

    return harness.run_test("transcode", run, report)


if __name__ == "__main__":
    sys.exit(main())
