#!/usr/bin/env python3
"""Floe / Icecast listener fan-out benchmark runner (stdlib only).

    python3 bench/run.py --server icecast --listeners 1000 [--rate 250] [--steady 30]
    python3 bench/run.py --server floe --listeners 5000 [--floe-binary .build/release/floe]
    python3 bench/run.py --server both --listeners 5000
    python3 bench/run.py --server both --listeners 1000 --tls

With --tls (floe and icecast only): a certificate for localhost is made with openssl (ECDSA P-256, one PEM with
certificate and key, as Icecast 2.4 reads it), the icecast.xml gets a second listen socket with <ssl>1</ssl> and
<paths><ssl-certificate>, and the listeners connect to that socket over TLS (the source stays on the plain
one). After the listeners' steady window, the handshake rate is measured: loadgen keeps --handshake-concurrency
full TLS handshakes in flight for --handshake-seconds, each closed once done, and the server's CPU over that
time gives handshakes per CPU-second (per core). Per-thread CPU shows how the work spreads over cores.

For each server: writes an icecast.xml into a fresh temp dir, starts the server on
127.0.0.1:<free port>, starts one paced ffmpeg source (128 kbps MP3, real time) on
/bench, waits until the mount serves audio, runs bench/out/loadgen with N listeners,
samples the server's CPU (utime+stime) and RSS at the start and end of the steady
window, prints a Markdown table and appends one JSON line per run to
bench/out/results.jsonl. Everything it started is stopped at the end (try/finally).

Loopback only: every socket here is 127.0.0.1.
"""
import argparse
import datetime
import json
import os
import pwd
import grp
import queue
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
LOADGEN_SRC = BENCH_DIR / "loadgen.c"
LOADGEN_BIN = OUT_DIR / "loadgen"
FANOUT_SRC = BENCH_DIR / "fanout.c"
FANOUT_BIN = OUT_DIR / "fanout"
TEST_MP3 = OUT_DIR / "sine-128k-44100-stereo-30s.mp3"
RESULTS = OUT_DIR / "results.jsonl"
HOST = "127.0.0.1"
MOUNT = "/bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
ICECAST_USER, ICECAST_GROUP = "icecast2", "icecast"
SETTLE_S = 5.0  # source running before listeners arrive, so every burst is full (64 KiB = 4 s)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- helpers

def raise_nofile():
    """preexec_fn: raise RLIMIT_NOFILE soft limit to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_cpu_s(pid):
    """utime+stime of a process (all threads), seconds; also (user, sys) split."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is state (field 3); utime is field 14, stime field 15
    ut, st = int(fields[11]), int(fields[12])
    return ut / CLK_TCK, st / CLK_TCK


def proc_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def sample(pid):
    u, s = proc_cpu_s(pid)
    return {"t": time.monotonic(), "user": u, "sys": s, "rss_kb": proc_rss_kb(pid)}


def thread_cpu_s(pid):
    """{thread id: utime+stime seconds} for every thread of a process."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                data = f.read()
        except OSError:
            continue    # the thread ended
        fields = data[data.rindex(")") + 2:].split()
        threads[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return threads


def thread_cpu_pct(before, after, wall):
    """Each thread's share of one core between two thread_cpu_s samples, busiest first (threads above 0.5 %)."""
    pcts = [100.0 * (cpu - before.get(tid, 0.0)) / wall for tid, cpu in after.items()]
    return sorted((round(p, 1) for p in pcts if p >= 0.5), reverse=True)


def make_certificate(tmpdir):
    """A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, and its key, in one PEM (chain and key
    together, as Icecast 2.4's <ssl-certificate> reads it); readable by the icecast2 user."""
    cert, key = Path(tmpdir) / "cert.pem", Path(tmpdir) / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bundle = Path(tmpdir) / "bundle.pem"
    bundle.write_text(cert.read_text() + key.read_text())
    os.chmod(bundle, 0o644)
    return bundle


def sys_cpu():
    """Machine-wide CPU seconds from /proc/stat: (busy, softirq), summed over all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice (guest* already in user)
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / CLK_TCK, v[6] / CLK_TCK


def ksoftirqd_cpu_s():
    """CPU seconds of the ksoftirqd kernel threads: network receive work deferred out of the
    sending process when softirqs pile up (loopback traffic of both server and loadgen)."""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if not f.read().startswith("ksoftirqd"):
                    continue
            total += sum(proc_cpu_s(int(d)))
        except (OSError, ValueError):
            pass
    return total


def ctxt_switches(pid):
    """(voluntary, nonvoluntary) context switches summed over all threads."""
    vol = nonvol = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            vol += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches:"):
                            nonvol += int(line.split()[1])
            except OSError:
                pass
    except OSError:
        pass
    return vol, nonvol


def wait_quiet(max_wait, threshold_pct=15.0, window=2.0):
    """Wait (bounded) until the machine is nearly idle, e.g. no compiler running."""
    if max_wait <= 0:
        return None
    deadline = time.monotonic() + max_wait
    warned = False
    while True:
        b0, _ = sys_cpu()
        t0 = time.monotonic()
        time.sleep(window)
        b1, _ = sys_cpu()
        busy = 100.0 * (b1 - b0) / (time.monotonic() - t0)
        if busy < threshold_pct:
            return busy
        if time.monotonic() >= deadline:
            log(f"machine still busy ({busy:.0f}% of one core) after {max_wait:.0f}s; running anyway")
            return busy
        if not warned:
            log(f"machine busy ({busy:.0f}% of one core, other processes); waiting up to {max_wait:.0f}s for quiet")
            warned = True


def ensure_built(src, binary):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if binary.exists() and binary.stat().st_mtime >= src.stat().st_mtime:
        return
    log(f"building {binary}")
    libs = ["-lssl", "-lcrypto"] if src == LOADGEN_SRC else []     # loadgen speaks TLS (--tls)
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(binary), str(src)] + libs, check=True, timeout=120)


def ensure_mp3(path, lavfi_source, minimum_bytes):
    """A 128 kbps stereo MP3 of ffmpeg's lavfi `lavfi_source` at `path` (made once; kept in bench/out)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > minimum_bytes:
        return
    log(f"generating {path}")
    tmp = path.with_suffix(".tmp.mp3")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", lavfi_source,
         "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k",
         "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", str(tmp)],
        check=True, timeout=180)
    tmp.rename(path)


def ensure_test_mp3():
    ensure_mp3(TEST_MP3, "sine=frequency=440:sample_rate=44100:duration=30", 400_000)


def write_config(tmpdir, port, listeners, pw, tls_port=None, certificate=None):
    """icecast.xml for both servers; with tls_port, a second, TLS-only socket and the certificate."""
    tls_socket = f"""
    <listen-socket>
        <port>{tls_port}</port>
        <bind-address>{HOST}</bind-address>
        <ssl>1</ssl>
    </listen-socket>""" if tls_port else ""
    tls_path = f"""
        <ssl-certificate>{certificate}</ssl-certificate>""" if certificate else ""
    cfg = f"""<icecast>
    <location>floe-bench</location>
    <admin>bench@localhost</admin>
    <hostname>{HOST}</hostname>
    <limits>
        <clients>{listeners + 100}</clients>
        <sources>4</sources>
        <queue-size>524288</queue-size>
        <client-timeout>30</client-timeout>
        <header-timeout>15</header-timeout>
        <source-timeout>10</source-timeout>
        <burst-size>65536</burst-size>
    </limits>
    <authentication>
        <source-password>{pw['source']}</source-password>
        <relay-password>{pw['relay']}</relay-password>
        <admin-user>admin</admin-user>
        <admin-password>{pw['admin']}</admin-password>
    </authentication>
    <listen-socket>
        <port>{port}</port>
        <bind-address>{HOST}</bind-address>
    </listen-socket>{tls_socket}
    <fileserve>1</fileserve>
    <paths>
        <basedir>/usr/share/icecast2</basedir>
        <logdir>{tmpdir}</logdir>
        <webroot>/usr/share/icecast2/web</webroot>
        <adminroot>/usr/share/icecast2/admin</adminroot>
        <pidfile>{tmpdir}/server.pid</pidfile>{tls_path}
    </paths>
    <logging>
        <accesslog>access.log</accesslog>
        <errorlog>error.log</errorlog>
        <loglevel>2</loglevel>
        <logsize>100000</logsize>
    </logging>
    <security>
        <chroot>0</chroot>
        <changeowner>
            <user>{ICECAST_USER}</user>
            <group>{ICECAST_GROUP}</group>
        </changeowner>
    </security>
</icecast>
"""
    path = Path(tmpdir) / "icecast.xml"
    path.write_text(cfg)
    os.chmod(path, 0o644)
    return path


def wait_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"server did not listen on {HOST}:{port} within {timeout}s")


def probe_mount(port, timeout=2.0, want_bytes=4096, mount=MOUNT):
    """One short GET of `mount`; returns (status_code or None, audio bytes read)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET {mount} HTTP/1.0\r\nHost: {HOST}:{port}\r\n"
                      f"User-Agent: floe-bench-probe\r\n\r\n".encode())
            buf = b""
            deadline = time.monotonic() + timeout
            while b"\r\n\r\n" not in buf and len(buf) < 8192 and time.monotonic() < deadline:
                chunk = s.recv(8192)
                if not chunk:
                    break
                buf += chunk
            if not buf.startswith(b"HTTP/") and not buf.startswith(b"ICY"):
                return None, 0
            try:
                code = int(buf.split(b" ", 2)[1][:3])
            except (IndexError, ValueError):
                return None, 0
            head, _, body = buf.partition(b"\r\n\r\n")
            n = len(body)
            while code == 200 and n < want_bytes and time.monotonic() < deadline:
                chunk = s.recv(8192)
                if not chunk:
                    break
                n += len(chunk)
            return code, n
    except OSError:
        return None, 0


def wait_mount(port, procs, timeout, mount=MOUNT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for name, p in procs:
            if p.poll() is not None:
                raise BenchError(f"{name} exited with status {p.returncode} while waiting for the mount")
        code, n = probe_mount(port, mount=mount)
        last = (code, n)
        if code == 200 and n >= 4096:
            return
        time.sleep(0.3)
    raise BenchError(f"mount {mount} did not serve audio within {timeout}s (last probe: {last})")


def source_cmd(port, source_password, mount=MOUNT, mp3=TEST_MP3):
    """ffmpeg sending `mp3` in a loop, paced in real time (-re), to `mount` as an Icecast source."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning",
            "-re", "-stream_loop", "-1", "-i", str(mp3),
            "-c", "copy", "-f", "mp3", "-write_xing", "0", "-id3v2_version", "0",
            "-content_type", "audio/mpeg",
            f"icecast://source:{source_password}@{HOST}:{port}{mount}"]


def find_floe_binary(arg):
    """The floe executable named by `arg` (absolute, or relative to the current dir or the repo root), resolved;
    returns (path or None, the candidates looked at)."""
    p = Path(arg)
    cands = [p] if p.is_absolute() else [Path.cwd() / p, REPO_DIR / p]
    found = next((c for c in cands if c.is_file() and os.access(c, os.X_OK)), None)
    return (found.resolve() if found else None), cands


def stop(proc, name, grace):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # own session: pgid == pid, only what we started
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {proc.pid}) did not exit after SIGTERM; SIGKILL")
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {proc.pid}) still alive after SIGKILL")


def tail(path, n=15):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- one run

def measure_handshakes(server, server_p, tls_port, args):
    """The handshake rate on the TLS socket, once the listeners are gone: loadgen --handshake-seconds, with the
    server's CPU (and each thread's) sampled over the same seconds."""
    time.sleep(2)   # the listeners' connections closed, the server quiet again
    cmd = [str(LOADGEN_BIN), "--host", HOST, "--port", str(tls_port), "--tls",
           "--handshake-seconds", str(args.handshake_seconds), "--concurrency", str(args.handshake_concurrency)]
    log(f"{server}: handshakes, {args.handshake_concurrency} in flight for {args.handshake_seconds:g}s")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=raise_nofile, start_new_session=True)
    samples = {}
    for raw in p.stderr:
        line = raw.decode(errors="replace")
        if line.startswith("EVENT "):
            what = line.split()[1]
            samples[what] = sample(server_p.pid)
            samples[what + "_threads"] = thread_cpu_s(server_p.pid)
    try:
        out, _ = p.communicate(timeout=args.handshake_seconds + 30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise BenchError("loadgen's handshake test did not finish")
    if p.returncode != 0 or "ramped" not in samples or "done" not in samples:
        raise BenchError(f"loadgen's handshake test failed (rc {p.returncode}): {out.decode(errors='replace')}")
    hs = json.loads(out.decode().strip().splitlines()[-1])
    s0, s1 = samples["ramped"], samples["done"]
    wall = s1["t"] - s0["t"]
    cpu_s = (s1["user"] + s1["sys"]) - (s0["user"] + s0["sys"])
    return {
        "handshakes": hs["handshakes"],
        "handshakes_per_s": hs["handshakes_per_s"],
        "handshakes_failed": hs["failed"],
        "handshakes_failed_reasons": hs["failed_reasons"],
        "handshake_cpu_pct": round(100.0 * cpu_s / wall, 1),
        "handshakes_per_cpu_s": round(hs["handshakes"] / cpu_s, 1) if cpu_s > 0 else None,
        "handshake_thread_cpu_pct": thread_cpu_pct(samples["ramped_threads"], samples["done_threads"], wall),
        "handshake_only_ms_p50": hs["handshake_ms_p50"],
        "handshake_only_ms_p99": hs["handshake_ms_p99"],
        "handshake_tls": f"{hs['tls_version']} {hs['tls_cipher']}",
    }


def run_one(server, args):
    ensure_built(LOADGEN_SRC, LOADGEN_BIN)
    if server == "fanout":
        ensure_built(FANOUT_SRC, FANOUT_BIN)
    ensure_test_mp3()
    quiet = wait_quiet(args.wait_quiet)
    tmpdir = tempfile.mkdtemp(prefix=f"floe-bench-{server}-")
    os.chmod(tmpdir, 0o755)
    try:
        uid = pwd.getpwnam(ICECAST_USER).pw_uid
        gid = grp.getgrnam(ICECAST_GROUP).gr_gid
        os.chown(tmpdir, uid, gid)  # icecast drops to icecast2:icecast and writes its logs here
    except KeyError:
        if server == "icecast":
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise BenchError(f"user {ICECAST_USER} / group {ICECAST_GROUP} missing (is icecast2 installed?)")
    port = free_port()
    pw = {k: secrets.token_hex(8) for k in ("source", "relay", "admin")}
    tls_port = free_port() if args.tls else None
    certificate = make_certificate(tmpdir) if args.tls else None
    cfg = write_config(tmpdir, port, args.listeners, pw, tls_port, certificate)
    listener_port = tls_port or port

    if server == "icecast":
        cmd = [shutil.which("icecast2") or "/usr/bin/icecast2", "-c", str(cfg)]
    elif server == "fanout":
        cmd = [str(FANOUT_BIN), "--icecast-config", str(cfg), "--interval-ms", str(args.fanout_interval_ms)]
    else:
        cmd = [str(args.floe_binary_path), "--icecast-config", str(cfg)]

    procs = []
    server_p = source_p = loadgen_p = None
    srv_log = open(Path(tmpdir) / "server.out", "wb")
    src_log = open(Path(tmpdir) / "ffmpeg.log", "wb")
    result = None
    try:
        log(f"{server}: starting {' '.join(cmd)} (port {port}, dir {tmpdir})")
        server_p = subprocess.Popen(cmd, cwd=tmpdir, stdin=subprocess.DEVNULL, stdout=srv_log,
                                    stderr=subprocess.STDOUT, preexec_fn=raise_nofile,
                                    start_new_session=True)
        procs.append(("server", server_p))
        wait_port(port, server_p, timeout=20)
        time.sleep(0.3)
        if server_p.poll() is not None:
            raise BenchError(f"server exited ({server_p.returncode})")
        nofile = None
        try:
            for line in open(f"/proc/{server_p.pid}/limits"):
                if line.startswith("Max open files"):
                    nofile = int(line.split()[3])
        except (OSError, ValueError, IndexError):
            pass

        src_cmd = source_cmd(port, pw["source"])
        log(f"{server}: starting paced ffmpeg source on {MOUNT}")
        source_p = subprocess.Popen(src_cmd, cwd=tmpdir, stdin=subprocess.DEVNULL, stdout=src_log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(("ffmpeg source", source_p))
        wait_mount(port, procs, timeout=20)
        t_source = time.monotonic()

        # Let the queue fill past the burst size, then take the idle baseline.
        idle0 = sample(server_p.pid)
        time.sleep(SETTLE_S)
        idle1 = sample(server_p.pid)
        baseline = idle1
        idle_cpu_pct = 100.0 * ((idle1["user"] + idle1["sys"]) - (idle0["user"] + idle0["sys"])) / (idle1["t"] - idle0["t"])
        log(f"{server}: mount live; idle CPU {idle_cpu_pct:.2f}% , baseline RSS {baseline['rss_kb']} KB")

        lg_cmd = [str(LOADGEN_BIN), "--host", HOST, "--port", str(listener_port), "--path", MOUNT,
                  "--listeners", str(args.listeners), "--rate", str(args.rate),
                  "--duration", str(args.steady), "--stall-ms", str(args.stall_ms),
                  "--ramp-grace", str(args.ramp_grace),
                  "--read-interval-ms", str(args.read_interval_ms), "--json"] + (["--icy"] if args.icy else []) \
            + (["--tls"] if args.tls else [])
        log(f"{server}: loadgen {args.listeners} listeners at {args.rate}/s, steady {args.steady}s")
        loadgen_p = subprocess.Popen(lg_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=raise_nofile,
                                     start_new_session=True)
        procs.append(("loadgen", loadgen_p))

        samples = {}
        events = queue.Queue()
        lg_stderr = []

        def reader():
            # Sample as soon as the event line arrives: this is the steady-window boundary.
            for raw in loadgen_p.stderr:
                line = raw.decode(errors="replace").rstrip("\n")
                if line.startswith("EVENT "):
                    what = line.split()[1]
                    try:
                        samples[what] = sample(server_p.pid)
                        samples[what + "_sys"] = sys_cpu()
                        u, sy = proc_cpu_s(loadgen_p.pid)
                        samples[what + "_loadgen"] = {"user": u, "sys": sy}
                        samples[what + "_source"] = sum(proc_cpu_s(source_p.pid))
                        samples[what + "_ctxt"] = ctxt_switches(server_p.pid)
                        samples[what + "_ksoftirqd"] = ksoftirqd_cpu_s()
                        samples[what + "_threads"] = thread_cpu_s(server_p.pid)
                    except (OSError, BenchError, ValueError) as e:
                        samples[what + "_error"] = str(e)
                    events.put(what)
                else:
                    lg_stderr.append(line)

        th = threading.Thread(target=reader, daemon=True)
        th.start()

        ramp_budget = args.listeners / args.rate + args.ramp_grace + 30
        deadline = time.monotonic() + ramp_budget + args.steady + 30
        got = set()
        while "done" not in got:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("loadgen did not finish in time")
            try:
                what = events.get(timeout=min(left, 1.0))
                got.add(what)
                if what == "ramped":
                    log(f"{server}: ramp complete; steady window {args.steady}s")
            except queue.Empty:
                if loadgen_p.poll() is not None and events.empty():
                    break
                if server_p.poll() is not None:
                    raise BenchError(f"server exited ({server_p.returncode}) during the run")
        try:
            loadgen_p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise BenchError("loadgen did not exit after its steady window")
        th.join(timeout=5)
        out = loadgen_p.stdout.read().decode(errors="replace").strip()
        if loadgen_p.returncode != 0 or not out:
            raise BenchError(f"loadgen failed (rc {loadgen_p.returncode}): {out}\n" + "\n".join(lg_stderr[-10:]))
        lg = json.loads(out.splitlines()[-1])
        if "ramped" not in samples or "done" not in samples:
            raise BenchError(f"missing CPU samples: {sorted(samples)}")

        s0, s1 = samples["ramped"], samples["done"]
        wall = s1["t"] - s0["t"]
        cpu_user = s1["user"] - s0["user"]
        cpu_sys = s1["sys"] - s0["sys"]
        cpu_s = cpu_user + cpu_sys
        l0, l1 = samples.get("ramped_loadgen"), samples.get("done_loadgen")
        lg_cpu = (l1["user"] + l1["sys"]) - (l0["user"] + l0["sys"]) if l0 and l1 else None
        listeners_steady = 0.5 * (lg["alive_at_ramp"] + lg["alive_at_end"])
        other_cpu_pct = softirq_pct = src_cpu_pct = ksoftirqd_pct = None
        if "ramped_sys" in samples and "done_sys" in samples:
            busy = samples["done_sys"][0] - samples["ramped_sys"][0]
            softirq_pct = 100.0 * (samples["done_sys"][1] - samples["ramped_sys"][1]) / wall
            src_cpu = samples.get("done_source", 0) - samples.get("ramped_source", 0)
            src_cpu_pct = 100.0 * src_cpu / wall
            ksi = samples.get("done_ksoftirqd", 0) - samples.get("ramped_ksoftirqd", 0)
            ksoftirqd_pct = 100.0 * ksi / wall
            other_cpu_pct = 100.0 * (busy - cpu_s - (lg_cpu or 0) - src_cpu - ksi) / wall
        c0, c1 = samples.get("ramped_ctxt"), samples.get("done_ctxt")
        threads = thread_cpu_pct(samples["ramped_threads"], samples["done_threads"], wall) \
            if "ramped_threads" in samples and "done_threads" in samples else None
        n_end = lg["alive_at_end"]
        source_alive = source_p.poll() is None
        result = {
            "time": datetime.datetime.now().isoformat(timespec="seconds"),
            "server": server if server != "fanout" else f"fanout/{args.fanout_interval_ms}ms",
            "listeners": args.listeners,
            "rate": args.rate,
            "read_interval_ms": args.read_interval_ms,
            "icy": args.icy,
            "steady_s_requested": args.steady,
            "steady_s": round(wall, 3),
            "connected": lg["connected"],
            "listeners_steady": listeners_steady,
            "failed": lg["failed"],
            "failed_reasons": lg["failed_reasons"],
            "stalled": lg["stalled"],
            "late_first_byte": lg.get("late_first_byte"),
            "max_gap_ms": lg["max_gap_ms"],
            "below_90pct": lg.get("below_90pct"),
            "rate_min": lg.get("rate_min"),
            "cpu_pct": round(100.0 * cpu_s / wall, 2),
            "cpu_user_pct": round(100.0 * cpu_user / wall, 2),
            "cpu_sys_pct": round(100.0 * cpu_sys / wall, 2),
            "cpu_ms_per_listener_s": round(1000.0 * cpu_s / (listeners_steady * wall), 4) if listeners_steady else None,
            "idle_cpu_pct": round(idle_cpu_pct, 2),
            "rss_baseline_kb": baseline["rss_kb"],
            "rss_ramped_kb": s0["rss_kb"],
            "rss_end_kb": s1["rss_kb"],
            "rss_kb_per_listener": round((s1["rss_kb"] - baseline["rss_kb"]) / n_end, 3) if n_end else None,
            "ttfb_ms_p50": lg["ttfb_ms_p50"],
            "ttfb_ms_p99": lg["ttfb_ms_p99"],
            "ttfb_ms_max": lg["ttfb_ms_max"],
            "bytes_per_listener_per_s": lg["bytes_per_listener_per_s"],
            "ramp_s": lg["ramp_seconds"],
            "loadgen_cpu_pct": round(100.0 * lg_cpu / wall, 2) if lg_cpu is not None else None,
            "source_cpu_pct": round(src_cpu_pct, 2) if src_cpu_pct is not None else None,
            "machine_softirq_pct": round(softirq_pct, 2) if softirq_pct is not None else None,
            "ksoftirqd_cpu_pct": round(ksoftirqd_pct, 2) if ksoftirqd_pct is not None else None,
            "other_cpu_pct": round(other_cpu_pct, 2) if other_cpu_pct is not None else None,
            "quiet_before_pct": round(quiet, 1) if quiet is not None else None,
            "server_ctxt_per_s": [round((c1[0] - c0[0]) / wall), round((c1[1] - c0[1]) / wall)] if c0 and c1 else None,
            "thread_cpu_pct": threads,
            "tls": args.tls,
            "tls_version": lg.get("tls_version"),
            "tls_cipher": lg.get("tls_cipher"),
            "handshake_ms_p50": lg.get("handshake_ms_p50"),
            "handshake_ms_p99": lg.get("handshake_ms_p99"),
            "source_alive_at_end": source_alive,
            "server_nofile": nofile,
            "source_uptime_s": round(time.monotonic() - t_source, 1),
            "cmd": cmd,
            "loadgen": lg,
        }
        if args.tls:
            result.update(measure_handshakes(server, server_p, listener_port, args))
        if other_cpu_pct is not None and other_cpu_pct > 5:
            log(f"{server}: WARNING other processes used {other_cpu_pct:.0f}% of one core during the "
                f"steady window; the figures are disturbed (compare only quiet, back-to-back runs)")
        if not source_alive:
            log(f"{server}: WARNING the ffmpeg source exited during the run:\n{tail(Path(tmpdir) / 'ffmpeg.log')}")
        bpls = lg["bytes_per_listener_per_s"]
        if lg["alive_at_end"] and not (15000 <= bpls <= 17000):
            log(f"{server}: WARNING {bpls:.0f} B/listener/s in the steady window; a paced 128 kbps source gives ~16000")
        with open(RESULTS, "a") as f:
            f.write(json.dumps(result) + "\n")
        return result
    except BenchError:
        if server_p is not None:
            log(f"{server}: server output tail:\n{tail(Path(tmpdir) / 'server.out')}\n"
                f"error.log tail:\n{tail(Path(tmpdir) / 'error.log')}")
        if source_p is not None:
            log(f"{server}: ffmpeg log tail:\n{tail(Path(tmpdir) / 'ffmpeg.log')}")
        raise
    finally:
        stop(loadgen_p, "loadgen", 5)
        stop(source_p, "ffmpeg source", 5)
        stop(server_p, server, 15)
        srv_log.close()
        src_log.close()
        if args.keep_tmp:
            log(f"{server}: kept {tmpdir}")
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)


# ---------------------------------------------------------------- output

COLUMNS = [
    ("server", "server", "{}"),
    ("N", "listeners", "{:,}"),
    ("connected", "connected", "{:,}"),
    ("failed", "failed", "{}"),
    ("stalled", "stalled", "{}"),
    ("< 90 % rate", "below_90pct", "{:,}"),
    ("max gap s", "max_gap_ms", None),
    ("CPU % of one core", "cpu_pct", "{:.1f}"),
    ("kernel share", None, None),
    ("CPU ms / listener-s", "cpu_ms_per_listener_s", "{:.4f}"),
    ("RSS KB / listener", "rss_kb_per_listener", "{:.2f}"),
    ("TTFB p50 ms", "ttfb_ms_p50", "{:.1f}"),
    ("TTFB p99 ms", "ttfb_ms_p99", "{:.1f}"),
    ("TTFB max ms", "ttfb_ms_max", "{:.0f}"),
    ("B / listener-s", "bytes_per_listener_per_s", "{:.0f}"),
    ("loadgen CPU %", "loadgen_cpu_pct", "{:.1f}"),
    ("other CPU %", "other_cpu_pct", "{:.1f}"),
]
TLS_COLUMNS = [
    ("threads' CPU %", "thread_cpu_pct", None),
    ("handshake ms p50", "handshake_ms_p50", "{:.1f}"),
    ("handshakes / s", "handshakes_per_s", "{:.0f}"),
    ("handshakes / CPU-s", "handshakes_per_cpu_s", "{:.0f}"),
]


def columns(results):
    return COLUMNS + (TLS_COLUMNS if any(r.get("tls") for r in results) else [])


def table_header(results):
    names = [c[0] for c in columns(results)]
    return "| " + " | ".join(names) + " |\n|" + "|".join("---" for _ in names) + "|"


def table_row(r, cols=COLUMNS):
    cells = []
    for name, key, fmt in cols:
        if name == "kernel share":
            cells.append(f"{100.0 * r['cpu_sys_pct'] / r['cpu_pct']:.0f} %" if r["cpu_pct"] else "-")
            continue
        if name == "max gap s":
            cells.append(f"{r['max_gap_ms'] / 1000:.1f}")
            continue
        if name == "threads' CPU %":
            cells.append(" / ".join(f"{p:g}" for p in (r.get(key) or [])[:4]) or "-")
            continue
        v = r.get(key)
        cells.append("-" if v is None else fmt.format(v))
    return "| " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True,
                    help="floe, icecast, fanout (the minimal C calibration server), both (= icecast,floe), or a "
                         "comma-separated list run back to back in that order, e.g. fanout,floe")
    ap.add_argument("--listeners", type=int, required=True)
    ap.add_argument("--rate", type=float, default=250.0, help="connections started per second (250)")
    ap.add_argument("--steady", type=float, default=30.0, help="seconds of steady window after the ramp (30)")
    ap.add_argument("--stall-ms", type=float, default=2000.0, help="receive gap counted as a stall (2000)")
    ap.add_argument("--ramp-grace", type=float, default=10.0,
                    help="after the last connect, wait at most this long for pending responses (10)")
    ap.add_argument("--read-interval-ms", type=float, default=250.0,
                    help="loadgen, steady window: read every listener socket every this many ms instead "
                         "of being woken by epoll for each segment; 0 = epoll throughout (250)")
    ap.add_argument("--icy", action="store_true",
                    help="listeners ask for in-band titles (Icy-MetaData: 1), as VLC and mpv do")
    ap.add_argument("--floe-binary", default=".build/release/floe",
                    help="path to floe, relative to the current dir or the repo root")
    ap.add_argument("--fanout-interval-ms", type=int, default=250,
                    help="fanout calibration server: one send per listener every this many ms (250)")
    ap.add_argument("--wait-quiet", type=float, default=30.0,
                    help="before each server run, wait at most this many seconds for the machine to be "
                         "idle (< 15%% of one core busy); 0 disables (30)")
    ap.add_argument("--tls", action="store_true",
                    help="listeners over TLS on a second, <ssl>1</ssl> socket; then the handshake rate (floe and "
                         "icecast only)")
    ap.add_argument("--handshake-seconds", type=float, default=10.0, help="--tls: the handshake test's length (10)")
    ap.add_argument("--handshake-concurrency", type=int, default=32,
                    help="--tls: handshakes in flight in the handshake test (32)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (config, logs)")
    args = ap.parse_args()

    if args.listeners <= 0 or args.rate <= 0 or args.steady <= 0:
        ap.error("listeners, rate and steady must be positive")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if args.listeners + 200 > hard:
        ap.error(f"--listeners {args.listeners} needs more file descriptors than the hard limit {hard}")
    est = args.listeners / args.rate + args.steady + 20
    if est > 180:
        log(f"note: this run will take about {est:.0f}s")

    servers = ["icecast", "floe"] if args.server == "both" else args.server.split(",")
    if not servers or any(s not in ("floe", "icecast", "fanout") for s in servers):
        ap.error(f"--server {args.server}: each must be floe, icecast or fanout")
    if args.tls and "fanout" in servers:
        ap.error("--tls: the fanout calibration server speaks no TLS")
    if "floe" in servers:
        found, cands = find_floe_binary(args.floe_binary)
        if not found:
            ap.error(f"floe binary not found: {args.floe_binary} (looked in {', '.join(map(str, cands))})")
        args.floe_binary_path = found

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    results = []
    try:
        for i, s in enumerate(servers):
            if i:
                time.sleep(3)  # let the previous run's sockets drain
            results.append(run_one(s, args))
            print(table_row(results[-1], columns(results)), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except BenchError as e:
        log(f"error: {e}")
        if results:
            print(table_header(results))
            for r in results:
                print(table_row(r, columns(results)))
        return 1
    print(table_header(results))
    for r in results:
        print(table_row(r, columns(results)))
    for r in results:
        extra = []
        if r["failed_reasons"]:
            extra.append(f"failed: {r['failed_reasons']}")
        if r.get("handshakes_failed"):
            extra.append(f"handshakes failed: {r['handshakes_failed_reasons']}")
        if r.get("tls"):
            extra.append(f"listeners: {r['tls_version']} {r['tls_cipher']}, handshakes: {r['handshake_tls']}, "
                         f"handshake CPU {r['handshake_cpu_pct']} % ({' / '.join(map(str, r['handshake_thread_cpu_pct'][:4]))})")
        if r.get("late_first_byte"):
            extra.append(f"{r['late_first_byte']} listeners got their first byte only after the ramp")
        if not r["source_alive_at_end"]:
            extra.append("SOURCE DIED")
        if extra:
            print(f"  {r['server']}: " + "; ".join(extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
