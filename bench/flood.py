#!/usr/bin/env python3
"""Floe idle-connection flood test (issue 11): new listeners must get audio quickly while thousands of
connections sit idle, sending an unfinished request head (stdlib only).

    python3 bench/flood.py                      # 3,000 idle connections, 200 listeners measured
    python3 bench/flood.py --connections 1000 --listeners 50 --header-timeout 5

Setup: a temp dir with a native floe.yaml (127.0.0.1, a free port, clients = connections + listeners + 200,
random passwords, logs in the temp dir, limits.header-timeout from --header-timeout); Floe runs with
RLIMIT_NOFILE raised, one paced ffmpeg source feeds /flood.

The flood (a child process, so its work never delays the measurements' clock readings): --connections
non-blocking sockets, --per-address of them from each of 127.0.0.2, 127.0.0.3, ... (all of 127.0.0.0/8 is
loopback on Linux, so bind() needs no setup; 50 per address stays under Floe's default max-pending-per-ip of 64).
Each connects, sends "GET /flood HTTP/1.1\\r\\nHost: x\\r\\n" without the blank line, and then nothing. A
connection the server closes (408 after header-timeout, 503 over the per-address limit, 403 over clients, reset,
plain EOF) is counted by reason and reopened from the same address, so the number open stays at --connections;
at most 256 connect at once.

Measured: once all --connections are open and the server has accepted them (its descriptor count in /proc has
grown by --connections over its settled count before the flood: the kernel completes connections before the server accepts them, and a listener arriving
during the flood's own connect burst waits behind it), --listeners new listeners from 127.0.0.1, one after another, one
every --interval-ms: a blocking socket with a timeout, the time from just before connect() to the first byte of
the body after the end of the response head (\\r\\n\\r\\n); the status must be 200; a little audio is read, then
the socket closed. The number of flood connections open at each measurement is recorded. The flood is held for
--hold-s after it is complete (default: long enough to cover the listeners) and at least until the last
listener is measured.

Pass criteria (exit 0; otherwise exit 1): the flood reached --connections open; the server accepted all of them
within half of --header-timeout (before their 408 wave); every listener got 200 and its
first audio byte within --limit-ms; floe still running at the end.
Reported: p50/p99/max time to audio, the count over the limit, open flood connections at the measurements
(min/max), the flood's closes by reason.

Prints a short summary and appends one JSON line to --json-out (default bench/out/flood.jsonl).
Needs: ffmpeg, a floe binary (swift build -c release). Loopback only.
"""
import argparse
import collections
import datetime
import errno
import heapq
import ipaddress
import math
import multiprocessing
import os
import resource
import selectors
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402
import harness  # noqa: E402
from harness import FloeServer  # noqa: E402

MOUNT = "/flood"
FIRST_FLOOD_ADDRESS = ipaddress.IPv4Address("127.0.0.2")
PARTIAL_HEAD = f"GET {MOUNT} HTTP/1.1\r\nHost: x\r\n".encode()
MAX_CONNECTING = 256            # flood sockets in connect() at once
QUICK_CLOSE_S = 1.0             # a flood connection closed sooner than this ...
REOPEN_DELAY_S = 0.2            # ... is reopened only after this (no busy loop against a refusing server)
FLOOD_FULL_TIMEOUT_S = 60.0
ACCEPT_TIMEOUT_SHARE = 0.5      # the server must accept the flood within this share of header-timeout: later,
                                # the measurements would meet the flood's 408 wave instead of the idle flood
LISTENER_TIMEOUT_S = 5.0        # per socket operation of a measured listener
AUDIO_BYTES = 8192              # read by each measured listener before it closes
STATUS_BYTES = 12               # "HTTP/1.0 408" is enough to classify a close


# ---------------------------------------------------------------- the flood (child process)

def flood_addresses(connections, per_address):
    """The source address of each flood connection: per_address from 127.0.0.2, then from 127.0.0.3, ..."""
    return [str(FIRST_FLOOD_ADDRESS + i // per_address) for i in range(connections)]


class Slot:
    """One flood connection, reopened in place from the same address."""
    __slots__ = ("addr", "sock", "state", "opened_at", "resp", "opens")

    def __init__(self, addr):
        self.addr = addr
        self.sock = None
        self.state = "idle"         # idle, connecting, open
        self.opened_at = 0.0
        self.resp = b""
        self.opens = 0              # times this slot got a connection open


class Flood:
    """Keeps len(addresses) connections open with a partial request head each; runs in the child process."""

    def __init__(self, port, addresses, open_now):
        self.port = port
        self.slots = [Slot(a) for a in addresses]
        self.open_now = open_now    # shared with the parent: connections open (head sent)
        self.sel = selectors.DefaultSelector()
        self.due = [(0.0, i) for i in range(len(self.slots))]   # heap of (reopen time, slot)
        self.n_open = self.n_connecting = 0
        self.opened_total = 0
        self.closed = collections.Counter()
        self.max_open = 0

    # ---- opening

    def open_due(self, now):
        while self.due and self.due[0][0] <= now and self.n_connecting < MAX_CONNECTING:
            _, i = heapq.heappop(self.due)
            self.connect(i)

    def connect(self, i):
        slot = self.slots[i]
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            self.retry_later(i, f"socket_{errno.errorcode.get(e.errno, e.errno)}")
            return
        sock.setblocking(False)
        try:
            sock.bind((slot.addr, 0))
            err = sock.connect_ex((bench.HOST, self.port))
        except OSError as e:
            sock.close()
            self.retry_later(i, f"bind_{errno.errorcode.get(e.errno, e.errno)}")
            return
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.retry_later(i, f"connect_{errno.errorcode.get(err, err)}")
            return
        slot.sock, slot.state, slot.resp = sock, "connecting", b""
        self.n_connecting += 1
        self.sel.register(sock, selectors.EVENT_WRITE, i)

    def retry_later(self, i, reason):
        self.closed[reason] += 1
        heapq.heappush(self.due, (time.monotonic() + REOPEN_DELAY_S, i))

    # ---- events

    def on_connected(self, i):
        slot = self.slots[i]
        self.n_connecting -= 1
        err = slot.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.close(i, f"connect_{errno.errorcode.get(err, err)}", was_open=False)
            return
        try:
            slot.sock.send(PARTIAL_HEAD)    # 30 bytes into an empty send buffer: sent whole
        except OSError as e:
            self.close(i, f"send_{errno.errorcode.get(e.errno, e.errno)}", was_open=False)
            return
        slot.state, slot.opened_at = "open", time.monotonic()
        slot.opens += 1
        self.n_open += 1
        self.opened_total += 1
        self.max_open = max(self.max_open, self.n_open)
        self.sel.modify(slot.sock, selectors.EVENT_READ, i)

    def on_readable(self, i):
        slot = self.slots[i]
        try:
            data = slot.sock.recv(4096)
        except OSError as e:
            self.close(i, "reset" if e.errno == errno.ECONNRESET else f"recv_{errno.errorcode.get(e.errno, e.errno)}")
            return
        if data:
            slot.resp += data
            if b"\n" in slot.resp or len(slot.resp) >= STATUS_BYTES:
                self.close(i, self.response_reason(slot.resp))
            return
        self.close(i, self.response_reason(slot.resp) if slot.resp else "eof")

    @staticmethod
    def response_reason(resp):
        """http_408 and the like, from the start of a response."""
        parts = resp.split(b" ", 2)
        if len(parts) >= 2 and parts[1][:3].isdigit():
            return f"http_{parts[1][:3].decode()}"
        return "bad_response"

    def close(self, i, reason, was_open=True):
        slot = self.slots[i]
        self.sel.unregister(slot.sock)
        slot.sock.close()
        if was_open:
            self.n_open -= 1
        lived = time.monotonic() - slot.opened_at if was_open else 0.0
        slot.sock, slot.state = None, "idle"
        self.closed[reason] += 1
        delay = 0.0 if lived >= QUICK_CLOSE_S else REOPEN_DELAY_S
        heapq.heappush(self.due, (time.monotonic() + delay, i))

    # ---- loop

    def run(self, stop, parent_pid):
        while not stop.is_set() and os.getppid() == parent_pid:
            self.open_due(time.monotonic())
            for key, events in self.sel.select(timeout=0.05):
                i = key.data
                if self.slots[i].state == "connecting":
                    self.on_connected(i)
                elif events & selectors.EVENT_READ:
                    self.on_readable(i)
            self.open_now.value = self.n_open
        for slot in self.slots:
            if slot.sock is not None:
                slot.sock.close()

    def stats(self):
        return {"opened_total": self.opened_total, "max_open": self.max_open,
                "reopened": sum(max(0, s.opens - 1) for s in self.slots),
                "closed": dict(self.closed)}


def flood_main(port, addresses, open_now, stop, pipe, parent_pid):
    """The child process: floods until `stop` is set (or the parent is gone), then sends its stats."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent stops it; Ctrl-C goes to both
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    flood = Flood(port, addresses, open_now)
    flood.run(stop, parent_pid)
    pipe.send(flood.stats())
    pipe.close()


class FloodProcess:
    """The parent's handle on the flood child: start, open count, stop with stats."""

    def __init__(self, port, addresses):
        ctx = multiprocessing.get_context("fork")
        self.open_now = ctx.Value("i", 0, lock=False)
        self.stop_event = ctx.Event()
        self._pipe, child_pipe = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=flood_main, name="floe-flood", daemon=True,
                                args=(port, addresses, self.open_now, self.stop_event, child_pipe, os.getpid()))
        self.proc.start()
        child_pipe.close()

    @property
    def open(self):
        return self.open_now.value

    def alive(self):
        return self.proc.is_alive()

    def wait_full(self, want, timeout):
        """Waits until `want` connections are open; returns the seconds it took, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.open >= want:
                return time.monotonic() - t0
            if not self.alive():
                raise bench.BenchError(f"the flood process exited ({self.proc.exitcode})")
            time.sleep(0.05)
        return None

    def stop(self, timeout=10.0):
        """Stops the flood; returns its stats, or None when it did not report."""
        self.stop_event.set()
        stats = None
        try:
            if self._pipe.poll(timeout):
                stats = self._pipe.recv()
        except (EOFError, OSError):
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        return stats


# ---------------------------------------------------------------- measured listeners

def read_head(sock):
    """Reads until the end of the response head; returns (head, body bytes already read)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the end of the response head")
        buf += chunk
        if len(buf) > 65536:
            raise ConnectionError("response head longer than 64 KiB")
    head, _, body = buf.partition(b"\r\n\r\n")
    return head, body


def status_of(head):
    parts = head.split(b" ", 2)
    try:
        return int(parts[1][:3])
    except (IndexError, ValueError):
        return None


def measure_listener(port):
    """One new listener: {"status", "ms" (connect() to the first body byte), "audio_bytes", "error"}."""
    request = (f"GET {MOUNT} HTTP/1.0\r\nHost: {bench.HOST}:{port}\r\n"
               f"User-Agent: floe-flood-listener\r\n\r\n").encode()
    r = {"status": None, "ms": None, "audio_bytes": 0, "error": None}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(LISTENER_TIMEOUT_S)
    try:
        t0 = time.perf_counter()
        sock.connect((bench.HOST, port))
        sock.sendall(request)
        head, body = read_head(sock)
        r["status"] = status_of(head)
        if r["status"] != 200:
            r["error"] = f"status {r['status']}"
            return r
        while not body:
            body = sock.recv(4096)
            if not body:
                raise ConnectionError("closed before the first audio byte")
        r["ms"] = 1000.0 * (time.perf_counter() - t0)
        r["audio_bytes"] = read_some(sock, len(body))
    except (OSError, ConnectionError) as e:   # socket.timeout is an OSError
        r["error"] = f"{type(e).__name__}: {e}"
    finally:
        sock.close()
    return r


def read_some(sock, have):
    """Reads audio until AUDIO_BYTES in all (or EOF or the timeout); returns the bytes read."""
    try:
        while have < AUDIO_BYTES:
            chunk = sock.recv(AUDIO_BYTES)
            if not chunk:
                break
            have += len(chunk)
    except OSError:
        pass
    return have


def measure_listeners(port, flood, args):
    """--listeners listeners, one every --interval-ms; each result also has the flood's open count."""
    results = []
    t_start = time.monotonic()
    for n in range(args.listeners):
        wait = t_start + n * args.interval_ms / 1000.0 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        open_now = flood.open
        r = measure_listener(port)
        r["flood_open"] = open_now
        results.append(r)
        if (n + 1) % 50 == 0:
            bench.log(f"flood: {n + 1}/{args.listeners} listeners measured")
    return results


# ---------------------------------------------------------------- verdict and report

def percentile(sorted_values, p):
    """Nearest rank, as loadgen computes it."""
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(p * (len(sorted_values) - 1) + 0.5)))
    return sorted_values[i]


def summarize(listeners, limit_ms):
    ms = sorted(r["ms"] for r in listeners if r["ms"] is not None)
    failed = [r for r in listeners if r["status"] != 200 or r["ms"] is None]
    over = [r for r in listeners if r["ms"] is not None and r["ms"] > limit_ms]
    opens = [r["flood_open"] for r in listeners]
    rnd = (lambda v: round(v, 2) if v is not None else None)
    return {
        "measured": len(listeners), "ok": len(listeners) - len(failed),
        "ms_p50": rnd(percentile(ms, 0.50)), "ms_p99": rnd(percentile(ms, 0.99)), "ms_max": rnd(ms[-1] if ms else None),
        "over_limit": len(over), "failed": len(failed),
        "failures": [{k: r[k] for k in ("status", "error", "flood_open")} for r in failed[:10]],
        "flood_open_min": min(opens) if opens else None, "flood_open_max": max(opens) if opens else None,
    }


def judge(r, args):
    why = []
    if not r["flood_full"]:
        why.append(f"the flood never had {args.connections} connections open (at most {r['flood_max_open']})")
    if r["flood_accepted_after_s"] is None:
        why.append(f"the server did not accept the flood's {args.connections} connections within "
                   f"{ACCEPT_TIMEOUT_SHARE:g} x header-timeout (it held {r['flood_accepted_held']})")
    s = r["summary"]
    if s["failed"]:
        why.append(f"{s['failed']} of {s['measured']} listeners got no audio (first: {s['failures'][:3]})")
    if s["over_limit"]:
        why.append(f"{s['over_limit']} listeners waited more than {args.limit_ms:g} ms for audio (max {s['ms_max']} ms)")
    if r["flood_stats"] is None:
        why.append("the flood process did not report its counts (did it die?)")
    if not r["floe_alive_at_end"]:
        why.append("floe is not running at the end")
    return why


def print_summary(r, args):
    s = r["summary"]
    print(f"flood {'PASS' if r['pass'] else 'FAIL'}: {args.connections} idle connections "
          f"({args.per_address} per address), {s['measured']} new listeners, limit {args.limit_ms:g} ms")
    print(f"  time to audio ms: p50 {s['ms_p50']}, p99 {s['ms_p99']}, max {s['ms_max']}; over the limit "
          f"{s['over_limit']}, failed {s['failed']}")
    print(f"  flood open at the measurements: {s['flood_open_min']} .. {s['flood_open_max']}; full after "
          f"{r['flood_full_after_s']} s, accepted by the server after {r['flood_accepted_after_s']} s; "
          f"closed by the server: {r['flood_stats'] and r['flood_stats']['closed']}")
    for reason in r["fail_reasons"]:
        print(f"  FAIL: {reason}")


# ---------------------------------------------------------------- one flood run

def descriptor_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def settled_descriptor_count(pid, settle_s=1.0):
    """The server's descriptor count once the set-up's own connections (the status polls of wait_mount) are closed:
    the smallest count seen over `settle_s`. A count taken at once can include a connection the client closed
    but the server has not yet, and the flood would then never seem fully accepted."""
    lowest = descriptor_count(pid)
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        time.sleep(0.05)
        lowest = min(lowest, descriptor_count(pid))
    return lowest


def wait_accepted(pid, descriptors, t_open, timeout):
    """Seconds from `t_open` until the server holds `descriptors` open files (the flood accepted), or None.
    Returns also the most it held."""
    deadline = time.monotonic() + timeout
    most = 0
    while time.monotonic() < deadline:
        held = descriptor_count(pid)
        most = max(most, held)
        if held >= descriptors:
            return time.monotonic() - t_open, most
        time.sleep(0.02)
    return None, most


def hold(flood, until):
    """Keeps the flood up until `until` (monotonic)."""
    while time.monotonic() < until and flood.alive():
        time.sleep(min(0.5, max(0.0, until - time.monotonic())))


def flood_run(args):
    bench.ensure_test_mp3()
    limits = {"header-timeout": args.header_timeout}
    with FloeServer(args.floe_binary_path, "flood", clients=args.connections + args.listeners + 200,
                    limits=limits, keep_tmp=args.keep_tmp) as floe:
        flood = None
        stats = None
        try:
            floe.start()
            source = floe.start_source(MOUNT)
            bench.wait_mount(floe.port, [("floe", floe.proc), ("ffmpeg source", source)], 20, mount=MOUNT)
            bench.log(f"flood: mount live; opening {args.connections} idle connections")
            descriptors_before = settled_descriptor_count(floe.pid)
            t_open = time.monotonic()
            flood = FloodProcess(floe.port, flood_addresses(args.connections, args.per_address))
            full_after = flood.wait_full(args.connections, FLOOD_FULL_TIMEOUT_S)
            # The kernel completes a connection before the server accepts it: the flood is "open" on the client
            # side while thousands still wait in the server's accept queue. Listeners are measured against the
            # idle flood, once the server holds it (its descriptors), not behind the flood's own connect burst.
            accepted_after, held = wait_accepted(floe.pid, descriptors_before + args.connections, t_open,
                                                 min(FLOOD_FULL_TIMEOUT_S, ACCEPT_TIMEOUT_SHARE * args.header_timeout))
            t_full = time.monotonic()
            if accepted_after is None:
                bench.log(f"flood: WARNING the server holds {held - descriptors_before} of the flood's "
                          f"{args.connections} connections ({held} descriptors, {descriptors_before} before); "
                          f"measuring anyway")
            if full_after is None:
                bench.log(f"flood: WARNING only {flood.open} of {args.connections} open after "
                          f"{FLOOD_FULL_TIMEOUT_S:.0f}s; measuring anyway")
            else:
                bench.log(f"flood: {args.connections} open after {full_after:.1f}s; measuring {args.listeners} "
                          f"listeners, one every {args.interval_ms:g} ms")
            listeners = measure_listeners(floe.port, flood, args)
            hold(flood, t_full + args.hold_s)
            stats = flood.stop()
            flood = None
            return {
                "time": datetime.datetime.now().isoformat(timespec="seconds"),
                "test": "flood",
                "connections": args.connections, "per_address": args.per_address, "listeners": args.listeners,
                "interval_ms": args.interval_ms, "hold_s": args.hold_s, "limit_ms": args.limit_ms,
                "header_timeout_s": args.header_timeout,
                "flood_full": full_after is not None,
                "flood_full_after_s": round(full_after, 2) if full_after is not None else None,
                "flood_accepted_after_s": round(accepted_after, 2) if accepted_after is not None else None,
                "flood_accepted_held": held - descriptors_before,
                "flood_max_open": stats["max_open"] if stats else None,
                "flood_stats": stats,
                "summary": summarize(listeners, args.limit_ms),
                "listener_ms_and_open": [[round(r["ms"], 2) if r["ms"] is not None else None, r["flood_open"]]
                                         for r in listeners],
                "floe_alive_at_end": floe.alive(),
                "source_alive_at_end": source.poll() is None,
                "floe_binary": str(floe.binary),
            }
        except bench.BenchError:
            bench.log(f"flood: {floe.log_tails()}")
            raise
        finally:
            if flood is not None:
                flood.stop()


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--floe-binary", default=".build/release/floe",
                    help="path to floe, relative to the current dir or the repo root (.build/release/floe)")
    ap.add_argument("--connections", type=int, default=3000, help="idle connections held open (3000)")
    ap.add_argument("--per-address", type=int, default=50,
                    help="idle connections per source address, 127.0.0.2 onwards; keep it under Floe's "
                         "max-pending-per-ip (64 by default) (50)")
    ap.add_argument("--listeners", type=int, default=200, help="new listeners measured, from 127.0.0.1 (200)")
    ap.add_argument("--interval-ms", type=float, default=50.0, help="one new listener every ... ms (50)")
    ap.add_argument("--hold-s", type=float, default=None,
                    help="seconds the complete flood is held (default: listeners x interval + 5 s); it is held "
                         "at least until the last listener is measured")
    ap.add_argument("--limit-ms", type=float, default=50.0, help="each listener's audio must start within (50)")
    ap.add_argument("--header-timeout", type=float, default=15.0,
                    help="limits.header-timeout written to the config, seconds (15, Floe's default); lower it to "
                         "have the flood's connections closed with 408 and reopened during the measurements")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (config, logs)")
    ap.add_argument("--json-out", default=str(bench.OUT_DIR / "flood.jsonl"),
                    help="JSON line appended here (bench/out/flood.jsonl)")
    args = ap.parse_args()

    for name in ("connections", "per_address", "listeners", "interval_ms", "limit_ms", "header_timeout"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name.replace('_', '-')} must be positive")
    if args.hold_s is None:
        args.hold_s = args.listeners * args.interval_ms / 1000.0 + 5.0
    if args.per_address > 64:
        bench.log(f"note: --per-address {args.per_address} is over Floe's default max-pending-per-ip (64); "
                  f"expect 503 refusals")
    if math.ceil(args.connections / args.per_address) > 2 ** 24 - 3:
        ap.error("too many source addresses for 127.0.0.0/8")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if args.connections + 200 > hard:
        ap.error(f"--connections {args.connections} needs more file descriptors than the hard limit {hard}")
    found, cands = bench.find_floe_binary(args.floe_binary)
    if not found:
        ap.error(f"floe binary not found: {args.floe_binary} (looked in {', '.join(map(str, cands))})")
    args.floe_binary_path = found
    return args


def main():
    args = parse_args()
    bench.raise_nofile()    # the flood child inherits it

    def run():
        r = flood_run(args)
        r["fail_reasons"] = judge(r, args)
        r["pass"] = not r["fail_reasons"]
        return r

    def report(r):
        harness.append_json(args.json_out, r)
        print_summary(r, args)
    return harness.run_test("flood", run, report)


if __name__ == "__main__":
    sys.exit(main())
