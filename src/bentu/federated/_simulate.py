"""``python -m bentu.federated._simulate WORKDIR``: Flower's simulation of a prepared federation.

Run in a child process so Ray's workers, threads and logs stay out of the caller's process.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path


def main(workdir: str) -> int:
    from flwr.simulation import run_simulation

    from bentu.federated._apps import build_apps

    wd = Path(workdir).resolve()
    man = json.loads((wd / "federation.json").read_text(encoding="utf-8"))
    if man["strategy"] == "secagg":
        from bentu.federated._secagg import build_secagg_apps

        server, client = build_secagg_apps(str(wd))
    else:
        server, client = build_apps(str(wd))
    run_simulation(
        server_app=server, client_app=client, num_supernodes=len(man["clients"]),
        backend_config={
            "client_resources": {"num_cpus": man["client_cpus"], "num_gpus": 0.0},
            "init_args": {"include_dashboard": False, "logging_level": logging.WARNING},
        },
    )
    return 0 if (wd / "result" / "final.pt").exists() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
