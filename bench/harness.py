"""Floe on its native YAML configuration, in a temp dir, with paced ffmpeg sources (stdlib only).

Shared by bench/soak.py and bench/flood.py. The generic pieces (free ports, the test MP3, waiting for the port
and the mount, stopping processes, logging) are bench/run.py's; this module adds what those two tests need
beyond run.py's icecast.xml runs:

  FloeServer(binary, name, clients, mounts={...}, limits={...})
      writes DIR/floe.yaml (127.0.0.1, a free port, random passwords, logs in DIR, web root DIR/web) and
      DIR/mounts/<name>.yaml for each mount given; start() runs `floe serve --config DIR/floe.yaml` with
      RLIMIT_NOFILE raised; start_source()/stop_source() run ffmpeg sources; admin_get() asks the admin API
      with Basic admin credentials; close() stops everything it started and removes DIR (unless keep_tmp).

Loopback only.
"""
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

ADMIN_USER = "admin"
FLOE_STOP_GRACE_S = 15
SOURCE_STOP_GRACE_S = 5


def yaml_text(value):
    """A YAML double-quoted scalar for `value` (a JSON string is one), so no text is read as a number."""
    return json.dumps(str(value))


def main_config(port, clients, pw, tmpdir, limits):
    """The text of floe.yaml. `limits` adds options under `limits:` (numbers, written as they are)."""
    limit_lines = "".join(f"  {key}: {value}\n" for key, value in sorted(limits.items()))
    return (
        "# Written by bench/harness.py for one benchmark run.\n"
        "listen:\n"
        f"  - port: {port}\n"
        f"    bind-address: {yaml_text(bench.HOST)}\n"
        "authentication:\n"
        f"  source-password: {yaml_text(pw['source'])}\n"
        f"  admin-user: {yaml_text(ADMIN_USER)}\n"
        f"  admin-password: {yaml_text(pw['admin'])}\n"
        "limits:\n"
        f"  clients: {clients}\n"
        f"{limit_lines}"
        "paths:\n"
        f"  webroot: {yaml_text(Path(tmpdir) / 'web')}\n"
        f"  logdir: {yaml_text(tmpdir)}\n"
        "logging:\n"
        f"  access-log: {yaml_text('access.log')}\n"
        f"  error-log: {yaml_text('error.log')}\n"
        f"  level: {yaml_text('info')}\n"
        f"mounts-directory: {yaml_text('mounts')}\n"
    )


def mount_config(options):
    """The text of a mount file: `options` maps option names to YAML values already written as text."""
    return "# Written by bench/harness.py.\n" + "".join(f"{key}: {value}\n" for key, value in options.items())


def spawn(cmd, cwd, log_file, raise_nofile=False):
    """Starts `cmd` in its own session (so stop() signals only it), output appended to `log_file`."""
    return subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                            preexec_fn=bench.raise_nofile if raise_nofile else None, start_new_session=True)


def basic_auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def live_mounts_from_listmounts(xml):
    """{mount path: listeners} of the live mounts in an /admin/listmounts answer."""
    found = re.findall(r'<source mount="([^"]*)">.*?<listeners>(\d+)</listeners>', xml, re.S)
    return {path: int(n) for path, n in found}


class FloeServer:
    """One floe process on a native configuration in a temp dir, and the ffmpeg sources started through it."""

    def __init__(self, binary, name, clients, mounts=None, limits=None, web_files=None, keep_tmp=False,
                 extra_config=""):
        """`mounts`: {mount path: {option: YAML text}}, one mount file each. `web_files`: {name: source path},
        copied into the web root. `limits`: extra options under `limits:`. `extra_config`: YAML text appended
        to floe.yaml (a `relay:` section)."""
        self.extra_config = extra_config
        self.binary = Path(binary)
        self.name = name
        self.keep_tmp = keep_tmp
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"floe-{name}-"))
        self.port = bench.free_port()
        self.pw = {k: secrets.token_hex(12) for k in ("source", "admin")}
        self.config = self.tmpdir / "floe.yaml"
        self.proc = None
        self.sources = []
        self._server_log = open(self.tmpdir / "server.out", "wb")
        self._source_log = open(self.tmpdir / "ffmpeg.log", "ab")
        self._write_files(clients, mounts or {}, limits or {}, web_files or {})

    def _write_files(self, clients, mounts, limits, web_files):
        (self.tmpdir / "web").mkdir()
        (self.tmpdir / "mounts").mkdir()
        for name, src in web_files.items():
            shutil.copyfile(src, self.tmpdir / "web" / name)
        self.config.write_text(main_config(self.port, clients, self.pw, self.tmpdir, limits) + self.extra_config)
        for path, options in mounts.items():
            (self.tmpdir / "mounts" / f"{path.lstrip('/')}.yaml").write_text(mount_config(options))

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self, timeout=20):
        cmd = [str(self.binary), "serve", "--config", str(self.config)]
        bench.log(f"{self.name}: starting {' '.join(cmd)} (port {self.port}, dir {self.tmpdir})")
        self.proc = spawn(cmd, self.tmpdir, self._server_log, raise_nofile=True)
        bench.wait_port(self.port, self.proc, timeout=timeout)
        time.sleep(0.3)
        if not self.alive():
            raise bench.BenchError(f"floe exited ({self.proc.returncode}) right after it listened")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def start_source(self, mount):
        """Starts a paced ffmpeg source on `mount` and returns its Popen (also kept for close())."""
        proc = spawn(bench.source_cmd(self.port, self.pw["source"], mount), self.tmpdir, self._source_log)
        self.sources.append(proc)
        return proc

    def stop_source(self, proc):
        bench.stop(proc, "ffmpeg source", SOURCE_STOP_GRACE_S)
        if proc in self.sources:
            self.sources.remove(proc)

    def wait_source_live(self, mount, timeout=20):
        """Waits until /admin/listmounts shows `mount` with a source (not only a fallback serving it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise bench.BenchError(f"floe exited ({self.proc.returncode}) while waiting for {mount}")
            live = self.live_mounts()
            if live is not None and mount in live:
                return
            time.sleep(0.3)
        raise bench.BenchError(f"no source on {mount} within {timeout}s")

    def close(self):
        for proc in list(self.sources):
            self.stop_source(proc)
        bench.stop(self.proc, "floe", FLOE_STOP_GRACE_S)
        self._server_log.close()
        self._source_log.close()
        if self.keep_tmp:
            bench.log(f"{self.name}: kept {self.tmpdir}")
        else:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def log_tails(self):
        return (f"server output tail:\n{bench.tail(self.tmpdir / 'server.out')}\n"
                f"error.log tail:\n{bench.tail(self.tmpdir / 'error.log')}\n"
                f"ffmpeg log tail:\n{bench.tail(self.tmpdir / 'ffmpeg.log')}")

    # ------------------------------------------------------------ admin API

    def admin_get(self, path_and_query, timeout=5.0):
        """GET with Basic admin credentials; returns (status, body text), or (None, error text) when the request
        fails (refused, timed out, closed early)."""
        conn = http.client.HTTPConnection(bench.HOST, self.port, timeout=timeout)
        try:
            conn.request("GET", path_and_query, headers={
                "Authorization": basic_auth(ADMIN_USER, self.pw["admin"]),
                "User-Agent": "floe-bench-admin",
            })
            resp = conn.getresponse()
            return resp.status, resp.read(1 << 20).decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            return None, f"{type(e).__name__}: {e}"
        finally:
            conn.close()

    def live_mounts(self, timeout=5.0):
        """{mount path: listeners} of the mounts with a source (file fallbacks included); None when unanswered."""
        status, body = self.admin_get("/admin/listmounts", timeout=timeout)
        if status != 200:
            return None
        return live_mounts_from_listmounts(body)


def append_json(path, result):
    """Appends `result` as one JSON line to `path` (bench/out/*.jsonl)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(result) + "\n")


def run_test(name, run, report):
    """The main of a pass/fail test: `run()` returns the result (with "pass"), `report(result)` prints it.
    SIGTERM and SIGHUP end the test like Ctrl-C, after what it started is stopped. Returns the exit status:
    0 passed, 1 failed or could not run, 130 interrupted."""
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        result = run()
    except KeyboardInterrupt:
        bench.log(f"{name}: interrupted")
        return 130
    except bench.BenchError as e:
        bench.log(f"{name}: error: {e}")
        return 1
    report(result)
    return 0 if result["pass"] else 1
