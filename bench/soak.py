#!/usr/bin/env python3
"""Floe soak test (issue 11): many listeners for a long time while the source reconnects, titles change and the
configuration is reloaded (stdlib only).

    python3 bench/soak.py                       # 5,000 listeners, 30 minutes
    python3 bench/soak.py --listeners 500 --minutes 3 --warmup-s 30 --source-reconnect-s 60

Setup: a temp dir with a native floe.yaml (127.0.0.1, a free port, clients = listeners + 200, random
passwords, logs in the temp dir) and mounts/soak.yaml (fallback-mount /fallback.mp3, fallback-override true;
web/fallback.mp3 is a copy of the test MP3), so listeners move to the file while the source is away and come back
when it returns. Floe runs with RLIMIT_NOFILE raised; one paced ffmpeg source feeds /soak.

Run: once /soak serves audio and its source is connected, the server's descriptor count (/proc/PID/fd) and RSS
are recorded, then bench/out/loadgen holds --listeners listeners (connected at --rate per second) for --minutes
after its ramp, with a stall threshold of 3 s (a move to the fallback and back is no stall, a starved listener is).
Meanwhile one loop:
  every --title-interval-s     a title update, GET /admin/metadata?mount=/soak&mode=updinfo&song=... (admin);
                               counted, failures counted (those while the source is away separately: expected)
  every --source-reconnect-s   the ffmpeg source is stopped and a new one started 2 s later
  every --sighup-interval-s    SIGHUP to floe (configuration reload)
  every 10 s                   a sample: VmRSS, descriptor count, server CPU, listeners on /soak and the fallback
After loadgen reports, the source is made sure to be connected again, and the descriptor count is polled (up to
15 s) until the listeners' sockets are gone.

Pass criteria (exit 0; otherwise exit 1):
  - RSS flat: every sample from the reference on is within +-5 % of the reference, the first sample taken at least
    --warmup-s after loadgen's ramp ended (min/max reported in %);
  - no descriptor leak: the count after equals the count before (the source connected both times);
  - no listener dropped that was reading: loadgen failed == 0 (in particular no eof_while_streaming), stalled == 0;
  - floe still running at the end.
Also reported, not judged: loadgen below_90pct and max_gap_ms, title updates, reloads floe logged, CPU.

Prints a short summary and appends one JSON line to --json-out (default bench/out/soak.jsonl).
Needs: ffmpeg, cc (loadgen is built from bench/loadgen.c), a floe binary (swift build -c release).
Loopback only.
"""
import argparse
import collections
import datetime
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402
import harness  # noqa: E402
from harness import FloeServer  # noqa: E402

MOUNT = "/soak"
FALLBACK = "/fallback.mp3"
SOURCE_GAP_S = 2.0          # between stopping a source and starting the next
TITLE_GRACE_S = 5.0         # after a new source starts, a failed title update still counts as "source away"
SAMPLE_INTERVAL_S = 10.0
PROGRESS_INTERVAL_S = 60.0
RSS_TOLERANCE_PCT = 5.0
STALL_MS = 3000
FD_SETTLE_S = 15.0
ADMIN_TIMEOUT_S = 5.0


# ---------------------------------------------------------------- /proc

def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_kinds(pid):
    """Descriptor kinds of `pid`: socket, pipe, anon_inode:[eventfd], or the file's path; Counter."""
    kinds = collections.Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("socket:", "pipe:")):
            target = target.split(":", 1)[0]
        kinds[target] += 1
    return kinds


def stable_fd_count(pid, timeout=10.0):
    """The descriptor count once it reads the same twice, 1 s apart (probe connections closed)."""
    deadline = time.monotonic() + timeout
    last = fd_count(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = fd_count(pid)
        if now == last:
            return now
        last = now
    return last


def wait_fd_count(pid, want, timeout):
    """Polls the descriptor count until it is `want` or `timeout` passes; returns the last count."""
    deadline = time.monotonic() + timeout
    while True:
        n = fd_count(pid)
        if n == want or time.monotonic() >= deadline:
            return n
        time.sleep(0.5)


# ---------------------------------------------------------------- loadgen

class Loadgen:
    """bench/out/loadgen in the background; its EVENT lines (ramped, done) are noted as they arrive."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.events = {}
        self.stderr_tail = collections.deque(maxlen=20)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=bench.raise_nofile,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "EVENT":
                self.events[parts[1]] = time.monotonic()
            else:
                self.stderr_tail.append(line)

    def finished(self):
        return "done" in self.events or self.proc.poll() is not None

    def result(self, timeout=60):
        """loadgen's JSON report (also after a SIGTERM, which makes it report early)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise bench.BenchError("loadgen did not exit after its steady window")
        self._reader.join(timeout=5)
        out = self.proc.stdout.read().decode(errors="replace").strip()
        if not out:
            raise bench.BenchError(f"loadgen reported nothing (rc {self.proc.returncode}): "
                                   + "\n".join(self.stderr_tail))
        return json.loads(out.splitlines()[-1])

    def stop(self):
        bench.stop(self.proc, "loadgen", 5)


def loadgen_cmd(port, args):
    return [str(bench.LOADGEN_BIN), "--host", bench.HOST, "--port", str(port), "--path", MOUNT,
            "--listeners", str(args.listeners), "--rate", str(args.rate),
            "--duration", str(args.minutes * 60), "--stall-ms", str(STALL_MS), "--json"]


def loadgen_budget_s(args):
    """Longest loadgen may take: its own hard end (ramp + 10 s grace + duration + 30 s) plus a margin."""
    return args.listeners / args.rate + 10 + args.minutes * 60 + 30 + 60


# ---------------------------------------------------------------- the soak loop

class Soak:
    """The disturbances (titles, source reconnects, SIGHUP) and the samples, driven by tick()."""

    def __init__(self, floe, args):
        self.floe = floe
        self.args = args
        self.source = None
        self.restart_at = None          # when the next source starts, while there is none
        self.source_away = []           # [start, end] windows in which title updates may fail
        self.reconnects = 0
        self.source_exits = 0           # sources that exited without being stopped
        self.sighups = 0
        self.titles = {"sent": 0, "ok": 0, "failed": 0, "failed_source_away": 0, "max_ms": 0.0, "errors": []}
        self.samples = []
        self._cpu_prev = None
        self.t0 = None
        self.next = {}

    def begin(self):
        """Arms the timers: the first title update and sample now, the rest one interval from now."""
        now = self.t0 = time.monotonic()
        self.next = {"title": now, "reconnect": now + self.args.source_reconnect_s,
                     "sighup": now + self.args.sighup_interval_s, "sample": now,
                     "progress": now + PROGRESS_INTERVAL_S}

    # ---- source

    def start_source(self):
        self.source = self.floe.start_source(MOUNT)
        self.restart_at = None
        if self.source_away and self.source_away[-1][1] is None:
            self.source_away[-1][1] = time.monotonic() + TITLE_GRACE_S

    def _source_gone(self, now):
        self.source = None
        self.restart_at = now + SOURCE_GAP_S
        self.source_away.append([now, None])

    def reconnect(self):
        bench.log(f"soak: source reconnect {self.reconnects + 1}: stopping ffmpeg, next in {SOURCE_GAP_S:.0f}s")
        self.floe.stop_source(self.source)
        self.reconnects += 1
        self._source_gone(time.monotonic())

    def check_source(self, now):
        if self.source is not None and self.source.poll() is not None:
            self.source_exits += 1
            bench.log(f"soak: WARNING the ffmpeg source exited by itself (status {self.source.returncode}); "
                      f"restarting it\n{bench.tail(self.floe.tmpdir / 'ffmpeg.log', 5)}")
            self.floe.stop_source(self.source)
            self._source_gone(now)
        if self.source is None and self.restart_at is not None and now >= self.restart_at:
            self.start_source()

    def source_was_away(self, t):
        return any(start <= t and (end is None or t <= end) for start, end in self.source_away)

    # ---- titles, reload

    def update_title(self):
        n = self.titles["sent"] + 1
        song = f"Soak title {n} at {time.strftime('%H:%M:%S')}"
        query = urllib.parse.urlencode({"mount": MOUNT, "mode": "updinfo", "song": song})
        t = time.monotonic()
        status, body = self.floe.admin_get(f"/admin/metadata?{query}", timeout=ADMIN_TIMEOUT_S)
        ms = 1000.0 * (time.monotonic() - t)
        self.titles["sent"] = n
        self.titles["max_ms"] = max(self.titles["max_ms"], ms)
        if status == 200 and "<return>1</return>" in body:
            self.titles["ok"] += 1
        elif self.source_was_away(t):
            self.titles["failed_source_away"] += 1
        else:
            self.titles["failed"] += 1
            if len(self.titles["errors"]) < 5:
                self.titles["errors"].append(f"{status}: {' '.join(body.split())[:160]}")

    def sighup(self):
        os.kill(self.floe.pid, signal.SIGHUP)
        self.sighups += 1

    # ---- samples

    def take_sample(self, now):
        pid = self.floe.pid
        try:
            user, sys_s = bench.proc_cpu_s(pid)
            rss_kb, fds = bench.proc_rss_kb(pid), fd_count(pid)
        except (OSError, bench.BenchError):
            return  # floe just exited; run_loop notices
        cpu_pct = None
        if self._cpu_prev is not None:
            t_prev, c_prev = self._cpu_prev
            cpu_pct = 100.0 * (user + sys_s - c_prev) / (now - t_prev)
        self._cpu_prev = (now, user + sys_s)
        live = self.floe.live_mounts(timeout=ADMIN_TIMEOUT_S) or {}
        self.samples.append({
            "t": round(now - self.t0, 1), "rss_kb": rss_kb, "fd": fds,
            "cpu_pct": round(cpu_pct, 1) if cpu_pct is not None else None,
            "soak_listeners": live.get(MOUNT), "fallback_listeners": live.get(FALLBACK),
            "_mono": now,
        })

    def progress(self, now):
        s = self.samples[-1] if self.samples else {}
        bench.log(f"soak: {(now - self.t0) / 60:.1f} min; RSS {s.get('rss_kb')} KB, fd {s.get('fd')}, "
                  f"CPU {s.get('cpu_pct')} %, listeners /soak {s.get('soak_listeners')} / fallback "
                  f"{s.get('fallback_listeners')}; titles {self.titles['ok']} ok {self.titles['failed']} failed "
                  f"({self.titles['failed_source_away']} while the source was away); reconnects {self.reconnects}, "
                  f"SIGHUP {self.sighups}")

    # ---- the loop

    def _due(self, name, now, interval):
        """Whether timer `name` is due; re-arms it (skipping missed ticks rather than bunching them)."""
        if now < self.next[name]:
            return False
        self.next[name] += interval
        if self.next[name] <= now:
            self.next[name] = now + interval
        return True

    def tick(self):
        now = time.monotonic()
        self.check_source(now)
        if self._due("reconnect", now, self.args.source_reconnect_s) and self.source is not None:
            self.reconnect()
        if self._due("title", now, self.args.title_interval_s):
            self.update_title()
        if self._due("sighup", now, self.args.sighup_interval_s):
            self.sighup()
        now = time.monotonic()
        if self._due("sample", now, SAMPLE_INTERVAL_S):
            self.take_sample(now)
        if self._due("progress", now, PROGRESS_INTERVAL_S):
            self.progress(now)

    def sleep_until_next(self, cap=0.5):
        wake = min(self.next.values())
        if self.restart_at is not None:
            wake = min(wake, self.restart_at)
        time.sleep(max(0.0, min(cap, wake - time.monotonic())))


def run_loop(floe, loadgen, soak, args):
    """Runs the disturbances until loadgen reports; returns None, or why the loop ended early."""
    deadline = time.monotonic() + loadgen_budget_s(args)
    logged_ramp = False
    while not loadgen.finished():
        if not floe.alive():
            return f"floe exited (status {floe.proc.returncode}) during the soak"
        if time.monotonic() > deadline:
            raise bench.BenchError("loadgen did not finish in time")
        if not logged_ramp and "ramped" in loadgen.events:
            logged_ramp = True
            bench.log(f"soak: ramp complete; {args.minutes:g} min steady, RSS reference after {args.warmup_s:g}s more")
        soak.tick()
        soak.sleep_until_next()
    return None


def reconnect_source_for_the_end(floe, soak):
    """Makes sure a source is connected (as at the baseline) before the descriptors are counted again."""
    if soak.source is None or soak.source.poll() is not None:
        if soak.source is not None:
            floe.stop_source(soak.source)
        soak.start_source()
    floe.wait_source_live(MOUNT, timeout=20)


# ---------------------------------------------------------------- verdict and report

def rss_summary(samples, t_ramped, warmup_s):
    """Reference: the first sample at least warmup_s after the ramp; min/max of later samples in % of it."""
    if t_ramped is None:
        return None
    after = [s for s in samples if s["_mono"] >= t_ramped + warmup_s]
    if not after:
        return None
    ref = after[0]
    pcts = [100.0 * (s["rss_kb"] - ref["rss_kb"]) / ref["rss_kb"] for s in after]
    return {"ref_kb": ref["rss_kb"], "ref_t": ref["t"], "samples": len(after),
            "min_pct": round(min(pcts), 2), "max_pct": round(max(pcts), 2),
            "last_kb": after[-1]["rss_kb"]}


def judge(r):
    """The reasons the soak failed; empty when it passed."""
    why = []
    rss = r["rss"]
    if rss is None:
        why.append("no RSS reference sample (the run ended before ramp + warm-up)")
    elif max(abs(rss["min_pct"]), abs(rss["max_pct"])) > RSS_TOLERANCE_PCT:
        why.append(f"RSS not flat: {rss['min_pct']:+.1f} % .. {rss['max_pct']:+.1f} % of the reference "
                   f"(limit +-{RSS_TOLERANCE_PCT:g} %)")
    if r["fd_after"] != r["fd_before"]:
        why.append(f"descriptors: {r['fd_before']} before, {r['fd_after']} after")
    lg = r["loadgen"] or {}
    if not lg:
        why.append("no loadgen report")
    else:
        if lg.get("failed"):
            why.append(f"{lg['failed']} listeners failed: {lg.get('failed_reasons')}")
        if lg.get("stalled"):
            why.append(f"{lg['stalled']} listeners stalled (> {STALL_MS} ms without data)")
        if lg.get("interrupted"):
            why.append("loadgen was interrupted")
    if not r["floe_alive_at_end"]:
        why.append("floe is not running at the end")
    if r["aborted"]:
        why.append(r["aborted"])
    return why


def fd_diff(before, after):
    """Descriptor kinds whose count changed: {kind: after - before}."""
    return {k: after.get(k, 0) - before.get(k, 0)
            for k in sorted(set(before) | set(after)) if after.get(k, 0) != before.get(k, 0)}


def count_log_lines(path, *needles):
    counts = dict.fromkeys(needles, 0)
    try:
        with open(path, errors="replace") as f:
            for line in f:
                for n in needles:
                    if n in line:
                        counts[n] += 1
    except OSError:
        return None
    return counts


def print_summary(r):
    lg = r["loadgen"] or {}
    rss = r["rss"]
    print(f"soak {'PASS' if r['pass'] else 'FAIL'}: {r['listeners']} listeners, {r['minutes']:g} min")
    if rss:
        print(f"  RSS reference {rss['ref_kb']:,} KB at t={rss['ref_t']:.0f}s; {rss['samples']} samples "
              f"{rss['min_pct']:+.2f} % .. {rss['max_pct']:+.2f} % (limit +-{RSS_TOLERANCE_PCT:g} %)")
    print(f"  descriptors before {r['fd_before']}, after {r['fd_after']}"
          + (f" (changed: {r['fd_changed']})" if r["fd_changed"] else ""))
    if lg:
        print(f"  loadgen: connected {lg.get('connected')}, failed {lg.get('failed')} {lg.get('failed_reasons')}, "
              f"stalled {lg.get('stalled')}, below 90 % rate {lg.get('below_90pct')}, "
              f"max gap {lg.get('max_gap_ms')} ms, alive at end {lg.get('alive_at_end')}")
    t = r["titles"]
    print(f"  titles: {t['sent']} sent, {t['ok']} ok, {t['failed']} failed, {t['failed_source_away']} failed while "
          f"the source was away; slowest {t['max_ms']:.0f} ms")
    print(f"  source reconnects {r['source_reconnects']} (+{r['source_exits']} unplanned), SIGHUP {r['sighups']} "
          f"(reloads logged: {r['reloads_logged']}), CPU mean {r['cpu_pct_mean']} % max {r['cpu_pct_max']} %")
    for reason in r["fail_reasons"]:
        print(f"  FAIL: {reason}")


def build_result(args, floe, soak, loadgen, lg, base, fd_after, kinds_after, aborted):
    cpu = [s["cpu_pct"] for s in soak.samples if s["cpu_pct"] is not None]
    logged = count_log_lines(floe.tmpdir / "error.log", "Configuration reloaded", "Configuration not reloaded")
    r = {
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
        "test": "soak",
        "listeners": args.listeners, "minutes": args.minutes, "rate": args.rate,
        "source_reconnect_s": args.source_reconnect_s, "title_interval_s": args.title_interval_s,
        "sighup_interval_s": args.sighup_interval_s, "warmup_s": args.warmup_s, "stall_ms": STALL_MS,
        "rss": rss_summary(soak.samples, loadgen.events.get("ramped"), args.warmup_s),
        "rss_before_listeners_kb": base["rss_kb"],
        "fd_before": base["fd"], "fd_after": fd_after, "fd_changed": fd_diff(base["fd_kinds"], kinds_after),
        "floe_alive_at_end": floe.alive(),
        "loadgen": lg,
        "titles": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in soak.titles.items()},
        "source_reconnects": soak.reconnects, "source_exits": soak.source_exits, "sighups": soak.sighups,
        "reloads_logged": logged and logged["Configuration reloaded"],
        "reload_errors_logged": logged and logged["Configuration not reloaded"],
        "cpu_pct_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "cpu_pct_max": max(cpu) if cpu else None,
        "aborted": aborted,
        "floe_binary": str(floe.binary),
        "samples": [{k: v for k, v in s.items() if not k.startswith("_")} for s in soak.samples],
    }
    r["fail_reasons"] = judge(r)
    r["pass"] = not r["fail_reasons"]
    return r


# ---------------------------------------------------------------- one soak

def baseline(floe):
    """Descriptor count (stable), kinds and RSS with the source connected and no listener."""
    n = stable_fd_count(floe.pid)
    return {"fd": n, "fd_kinds": fd_kinds(floe.pid), "rss_kb": bench.proc_rss_kb(floe.pid)}


def soak_run(args):
    bench.ensure_built(bench.LOADGEN_SRC, bench.LOADGEN_BIN)
    bench.ensure_test_mp3()
    mounts = {MOUNT: {"fallback-mount": FALLBACK, "fallback-override": "true"}}
    with FloeServer(args.floe_binary_path, "soak", clients=args.listeners + 200, mounts=mounts,
                    web_files={FALLBACK.lstrip("/"): bench.TEST_MP3}, keep_tmp=args.keep_tmp) as floe:
        loadgen = None
        try:
            floe.start()
            soak = Soak(floe, args)
            soak.start_source()
            bench.wait_mount(floe.port, [("floe", floe.proc), ("ffmpeg source", soak.source)], 20, mount=MOUNT)
            floe.wait_source_live(MOUNT, timeout=20)
            base = baseline(floe)
            bench.log(f"soak: mount live; baseline {base['fd']} descriptors, RSS {base['rss_kb']} KB")

            bench.log(f"soak: loadgen {args.listeners} listeners at {args.rate:g}/s for {args.minutes:g} min; "
                      f"reconnect every {args.source_reconnect_s:g}s, title every {args.title_interval_s:g}s, "
                      f"SIGHUP every {args.sighup_interval_s:g}s")
            loadgen = Loadgen(loadgen_cmd(floe.port, args))
            soak.begin()
            aborted = run_loop(floe, loadgen, soak, args)
            if aborted:
                bench.log(f"soak: {aborted}\n{floe.log_tails()}")
                loadgen.stop()
            lg = loadgen.result()
            fd_after, kinds_after = None, collections.Counter()
            if floe.alive():
                reconnect_source_for_the_end(floe, soak)
                fd_after = wait_fd_count(floe.pid, base["fd"], FD_SETTLE_S)
                kinds_after = fd_kinds(floe.pid)
            return build_result(args, floe, soak, loadgen, lg, base, fd_after, kinds_after, aborted)
        except bench.BenchError:
            bench.log(f"soak: {floe.log_tails()}")
            raise
        finally:
            if loadgen is not None:
                loadgen.stop()


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--floe-binary", default=".build/release/floe",
                    help="path to floe, relative to the current dir or the repo root (.build/release/floe)")
    ap.add_argument("--listeners", type=int, default=5000, help="listeners held by loadgen (5000)")
    ap.add_argument("--minutes", type=float, default=30.0, help="steady window after loadgen's ramp (30)")
    ap.add_argument("--source-reconnect-s", type=float, default=180.0,
                    help="stop the source and start a new one 2 s later every this many seconds (180)")
    ap.add_argument("--title-interval-s", type=float, default=1.0, help="one title update every ... s (1)")
    ap.add_argument("--sighup-interval-s", type=float, default=60.0, help="SIGHUP to floe every ... s (60)")
    ap.add_argument("--rate", type=float, default=250.0, help="listener connections started per second (250)")
    ap.add_argument("--warmup-s", type=float, default=60.0,
                    help="the RSS reference is the first sample this long after the ramp (60)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (config, logs)")
    ap.add_argument("--json-out", default=str(bench.OUT_DIR / "soak.jsonl"),
                    help="JSON line appended here (bench/out/soak.jsonl)")
    args = ap.parse_args()

    for name in ("listeners", "minutes", "source_reconnect_s", "title_interval_s", "sighup_interval_s", "rate"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name.replace('_', '-')} must be positive")
    if args.warmup_s < 0 or args.warmup_s + 2 * SAMPLE_INTERVAL_S > args.minutes * 60:
        ap.error(f"--warmup-s must leave at least {2 * SAMPLE_INTERVAL_S:.0f}s of the {args.minutes * 60:g}s window")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if args.listeners + 200 > hard:
        ap.error(f"--listeners {args.listeners} needs more file descriptors than the hard limit {hard}")
    found, cands = bench.find_floe_binary(args.floe_binary)
    if not found:
        ap.error(f"floe binary not found: {args.floe_binary} (looked in {', '.join(map(str, cands))})")
    args.floe_binary_path = found
    return args


def main():
    args = parse_args()

    def report(r):
        harness.append_json(args.json_out, r)
        print_summary(r)
    return harness.run_test("soak", lambda: soak_run(args), report)


if __name__ == "__main__":
    sys.exit(main())
