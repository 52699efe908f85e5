"""Deployment runtime: a real SuperLink and one SuperNode process per client, on loopback.

Every process started here is started in its own process group and stopped by PID (the group
and any descendant) when the run ends, fails, or is interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bentu.errors import ConfigError

__all__ = ["run_deployment", "flower_env", "free_port", "check_port_free", "ProcessGroup", "sigterm_as_exception"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def flower_env(workdir: Path) -> dict[str, str]:
    """Environment for ``flwr`` / ``flower-*`` commands: our venv's bin first, FLWR_HOME in
    ``workdir``, telemetry, update checks and runtime dependency installation off."""
    bindir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "FLWR_HOME": str(workdir / "flwr_home"),
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        "PYTHONUNBUFFERED": "1",
    }


def free_port(host: str = HOST) -> int:
    """A TCP port the OS says is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port_free(port: int, role: str, host: str = HOST) -> None:
    """Raise :class:`ConfigError` naming ``port`` if something already listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as err:
            raise ConfigError(
                f"Port {port} on {host} is already in use, so the {role} cannot start. Stop the process "
                "that holds it, or choose other ports in federated.options.ports (or leave it unset for free ports).",
                f"{host} 上的端口 {port} 已被占用，{role} 无法启动。请停止占用该端口的进程，或在 "
                "federated.options.ports 中选择其他端口（不设置则自动选择空闲端口）。",
            ) from err


def _choose_ports(n: int, spec: dict[str, Any] | None) -> tuple[int, list[int]]:
    spec = spec or {}
    link = spec.get("superlink")
    nodes = list(spec.get("supernodes", []))
    if link is not None:
        check_port_free(int(link), "SuperLink")
    for p in nodes:
        check_port_free(int(p), "SuperNode")
    link = int(link) if link is not None else free_port()
    chosen = {link, *map(int, nodes)}
    while len(nodes) < n:
        p = free_port()
        if p not in chosen:
            nodes.append(p)
            chosen.add(p)
    return link, [int(p) for p in nodes[:n]]


def _write_app(workdir: Path, link_port: int, strategy: str) -> Path:
    """The Flower app's ``pyproject.toml`` and the federation in ``$FLWR_HOME/config.toml``."""
    module = "bentu.federated._secagg" if strategy == "secagg" else "bentu.federated._apps"
    app = workdir / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "bentu-federation"\nversion = "1.0.0"\ndependencies = []\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["."]\n\n'
        '[tool.flwr.app]\npublisher = "bentu"\n\n'
        f'[tool.flwr.app.components]\nserverapp = "{module}:server_app"\n'
        f'clientapp = "{module}:client_app"\n\n'
        f'[tool.flwr.app.config]\nworkdir = "{workdir.as_posix()}"\n',
        encoding="utf-8",
    )
    home = workdir / "flwr_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[superlink]\ndefault = "deploy"\n\n'
        f'[superlink.deploy]\naddress = "{HOST}:{link_port}"\ninsecure = true\n',
        encoding="utf-8",
    )
    return app


def _wait_listening(port: int, proc: subprocess.Popen, what: str, logfile: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}; see {logfile}:\n{_tail(logfile)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {HOST}:{port} within {timeout:.0f} s; see {logfile}")


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class ProcessGroup:
    """Processes started in their own sessions, stopped together by PID (group and descendants)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self._logs: list[Any] = []

    def start(self, cmd: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen:
        fh = logfile.open("w", encoding="utf-8")
        self._logs.append(fh)
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self, grace: float = 5.0) -> None:
        import psutil

        victims: list[psutil.Process] = []
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(proc.pid)
                victims += parent.children(recursive=True) + [parent]
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)  # its session id is its pid
        for v in victims:
            with contextlib.suppress(psutil.Error):
                v.terminate()
        _, alive = psutil.wait_procs(victims, timeout=grace)
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        for v in alive:
            with contextlib.suppress(psutil.Error):
                v.kill()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        for fh in self._logs:
            fh.close()
        self.procs.clear()
        self._logs.clear()


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so cleanup runs as on Ctrl-C."""


@contextlib.contextmanager
def sigterm_as_exception():
    """SIGTERM ends the run like Ctrl-C does (so ``finally`` stops the processes)."""
    if threading_main():
        def handler(signum, frame):  # noqa: ARG001
            raise Terminated(f"signal {signum}")

        old = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, old)
    else:
        yield


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def run_deployment(workdir: Path, manifest: dict[str, Any], progress: bool = False) -> None:
    """Start a SuperLink and one SuperNode per client on loopback, run the app with
    ``flwr run --stream``, and stop every started process (also on failure and Ctrl-C).

    Logs: ``workdir/logs/{superlink,supernode-<i>,flwr-run}.log``.
    """
    from bentu.federated._core import _watch

    n = len(manifest["clients"])
    link_port, node_ports = _choose_ports(n, manifest["options"].get("ports"))
    env = flower_env(workdir)
    app = _write_app(workdir, link_port, manifest.get("strategy", "fedavg"))
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    group = ProcessGroup()
    try:
        with sigterm_as_exception():
            link = group.start(["flower-superlink", "--insecure", "--host", HOST, "--port", str(link_port),
                                "--database", str(workdir / "flwr_home" / "state.db"),
                                "--disable-runtime-dependency-installation"], env, logs / "superlink.log")
            _wait_listening(link_port, link, "flower-superlink", logs / "superlink.log")
            for i, port in enumerate(node_ports):
                node = group.start(["flower-supernode", "--insecure", "--superlink", f"{HOST}:{link_port}",
                                    "--host", HOST, "--port", str(port),
                                    "--node-config", f"partition-id={i} num-partitions={n}"],
                                   env, logs / f"supernode-{i}.log")
                _wait_listening(port, node, f"flower-supernode {i}", logs / f"supernode-{i}.log")
            runner = group.start(["flwr", "run", str(app), "deploy", "--stream"], env, logs / "flwr-run.log")
            limit = manifest["rounds"] * manifest["round_timeout"] + 600
            rc = _watch(runner, workdir / "result" / "rounds.jsonl", manifest["rounds"], progress, limit)
            if rc != 0 or not (workdir / "result" / "final.pt").exists():
                raise RuntimeError(f"flwr run failed (exit {rc}); see {logs / 'flwr-run.log'}:\n"
                                   f"{_tail(logs / 'flwr-run.log')}\n{_tail(logs / 'superlink.log')}")
    finally:
        group.stop()
