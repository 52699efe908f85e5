"""``bentu serve RUN_DIR``: the HTTP scoring service (FastAPI + ONNX Runtime, uvicorn)."""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, pick_lang, user_errors
from bentu.errors import ConfigError
from bentu.i18n import is_zh

__all__ = ["serve", "app_from_env"]

_ENV = "BENTU_SERVE_"


def app_from_env():
    """App factory for uvicorn worker processes (``--workers N``): settings come from the environment.

    Each worker writes its own decision log (``decisions.<pid>.jsonl``), so every chain stays linear.
    """
    from bentu.inference.serve import create_app

    log_path = os.environ.get(_ENV + "DECISION_LOG")
    log_path = Path(log_path) if log_path else Path(os.environ[_ENV + "RUN_DIR"]) / "serving" / "decisions.jsonl"
    keys = os.environ.get(_ENV + "API_KEYS_FILE")
    return create_app(
        Path(os.environ[_ENV + "RUN_DIR"]), api_keys_file=Path(keys) if keys else None,
        decision_log=log_path.with_name(f"{log_path.stem}.{os.getpid()}{log_path.suffix}"),
        max_body_bytes=int(os.environ[_ENV + "MAX_BODY_BYTES"]), variant=os.environ.get(_ENV + "VARIANT") or None,
    )


def check_port(host: str, port: int) -> None:
    """Raise a :class:`ConfigError` when ``port`` is out of range or ``host:port`` cannot be bound."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535. Got {port} instead.",
                          f"--port 必须在 1 到 65535 之间，实际为 {port}。")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ConfigError(f"--host {host!r} is not an address of this machine ({err.strerror}).",
                          f"--host {host!r} 不是本机地址（{err.strerror}）。") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"Port {port} on {host} is already in use by another program; stop it or choose another --port.",
                    f"{host} 上的端口 {port} 已被其他程序占用；请停止该程序或换一个 --port。") from None
            raise ConfigError(f"Cannot listen on {host}:{port}: {err.strerror}. Choose another --host or --port.",
                              f"无法在 {host}:{port} 上监听：{err.strerror}。请换一个 --host 或 --port。") from None


def serve(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `bentu run`.")],
    host: Annotated[str, typer.Option(help="Address to listen on (default: loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model and logs its own decisions).")] = 1,
    api_keys_file: Annotated[Optional[Path], typer.Option(help="SHA-256 hashes of accepted keys (`bentu keys new FILE`); requests then need 'Authorization: Bearer <key>'.")] = None,
    decision_log: Annotated[Optional[Path], typer.Option(help="Hash-chained decision log (default: RUN_DIR/serving/decisions.jsonl).")] = None,
    variant: Annotated[Optional[str], typer.Option(help="Model variant from compression.json (default: the chosen one).")] = None,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Larger request bodies get 413.")] = 1_000_000,
    lang: Annotated[Optional[str], typer.Option(help="Language of the messages: zh or en.")] = None,
) -> None:
    """Serve RUN_DIR's model over HTTP: POST /v1/predict, /v1/explain; GET /v1/model, /healthz, /readyz.

    Refuses to start when RUN_DIR has no model, its audit log is broken, or a file fails its
    recorded checksum.
    """
    import uvicorn

    from bentu.compliance.audit_log import require_complete_run
    from bentu.inference.serve import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with user_errors(lang):
        check_port(host, port)  # before the model loads: a bad or busy port is said at once
        require_complete_run(run_dir, only_completeness=True)  # an interrupted or wrongly keyed run: refused
        app = create_app(run_dir, api_keys_file=api_keys_file, decision_log=decision_log,
                         max_body_bytes=max_body_bytes, variant=variant)  # checks the run before any worker starts
    state = app.state.serving
    zh = is_zh(pick_lang(lang))
    err_console.print(
        (f"提供服务：{state.model_name}（{state.predictor.variant}，sha256 {state.model_sha256[:12]}…）于 http://{host}:{port}"
         if zh else
         f"Serving {state.model_name} ({state.predictor.variant}, sha256 {state.model_sha256[:12]}…) on http://{host}:{port}")
    )
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    state.decisions_log.close()
    os.environ.update({
        _ENV + "RUN_DIR": str(run_dir), _ENV + "MAX_BODY_BYTES": str(max_body_bytes),
        _ENV + "API_KEYS_FILE": str(api_keys_file or ""), _ENV + "DECISION_LOG": str(decision_log or ""),
        _ENV + "VARIANT": variant or "",
    })
    uvicorn.run("bentu.cli.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False)
