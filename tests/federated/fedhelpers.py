"""Small data, a tiny model and a process finder shared by the federated tests."""

import torch
from torch.utils.data import TensorDataset

from bentu.models import create_model


def make_data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.5 * torch.randn(n, generator=g) > 0).float()
    return TensorDataset(x, y)


def tiny_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("tabular_mlp", in_features=6, hidden=[8])


def flower_processes(marker: str) -> list[str]:
    """flower-* / flwr-* processes whose command line or FLWR_HOME mentions ``marker``."""
    import psutil

    found = []
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            names = [p.info["name"] or ""] + [part.rsplit("/", 1)[-1] for part in (p.info["cmdline"] or [])[:2]]
            if not any(n.startswith(("flower-", "flwr-", "flwr")) for n in names):
                continue
            home = p.environ().get("FLWR_HOME", "")
            if marker in cmd or marker in home:
                found.append(f"{p.info['pid']} {cmd}")
        except psutil.Error:
            continue
    return found
