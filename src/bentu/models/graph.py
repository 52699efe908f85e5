"""A graph knowledge-tracing model: GCN exercise embeddings over the exercise–concept graph.

The graph has one node per exercise and one per concept, and an edge between each exercise and
its concept. A two-layer GCN (Kipf & Welling, 2017; normalisation from torch-geometric's
``gcn_norm``, run full-batch as a dense matrix product so it exports to ONNX) turns learnable
concept features into exercise embeddings. Each exercise also has its own residual embedding,
initialised to zero: an exercise that no training student answered keeps a zero residual (its
gradient is always zero), so the model scores it from its concept alone. That is what lets it
predict an exercise nobody has answered yet, where plain DKT has only an untrained output row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from bentu.errors import ConfigError
from bentu.models._registry import register_model
from bentu.models.sequence import SEQUENCE_INPUTS, sequence_example

__all__ = ["GraphDKT", "GraphDKTConfig", "normalized_adjacency"]


def normalized_adjacency(concept_of: Sequence[int], n_concepts: int) -> torch.Tensor:
    """Dense ``D^-1/2 (A + I) D^-1/2`` of the exercise–concept graph (exercises first, then concepts).

    Exercises with concept ``-1`` (unknown) get only their self-loop.
    """
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_dense_adj

    n_ex = len(concept_of)
    pairs = [(e, n_ex + int(c)) for e, c in enumerate(concept_of) if int(c) >= 0]
    if pairs:
        src = torch.tensor([p[0] for p in pairs] + [p[1] for p in pairs])
        dst = torch.tensor([p[1] for p in pairs] + [p[0] for p in pairs])
        edge_index = torch.stack([src, dst])
    else:
        edge_index = torch.zeros(2, 0, dtype=torch.long)
    n = n_ex + n_concepts
    edge_index, weight = gcn_norm(edge_index, None, num_nodes=n, add_self_loops=True)
    return to_dense_adj(edge_index, edge_attr=weight, max_num_nodes=n)[0].T.contiguous()  # (n, n)


@dataclass
class GraphDKTConfig:
    n_exercises: int = 50
    concept_of: list[int] = field(default_factory=list)
    n_concepts: int = 5
    embed: int = 32
    hidden: int = 128
    dropout: float = 0.2


class GraphDKT(nn.Module):
    """DKT whose exercise representation comes from a GCN over the exercise–concept graph."""

    def __init__(self, cfg: GraphDKTConfig):
        super().__init__()
        self.cfg = cfg
        n, d = cfg.n_exercises, cfg.embed
        self.register_buffer("adj", normalized_adjacency(cfg.concept_of, cfg.n_concepts))
        self.concept_feat = nn.Parameter(torch.randn(cfg.n_concepts, d) * 0.1)
        self.register_buffer("exercise_feat", torch.zeros(n, d))  # exercises carry no own input feature
        self.gcn1, self.gcn2 = nn.Linear(d, d), nn.Linear(d, d)
        self.residual = nn.Embedding(n, d)
        nn.init.zeros_(self.residual.weight)
        self.start = nn.Parameter(torch.zeros(1, 1, 2 * d))
        self.lstm = nn.LSTM(2 * d, cfg.hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Sequential(nn.Linear(cfg.hidden + d, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))

    def exercise_embeddings(self) -> torch.Tensor:
        """``(n_exercises, embed)``: GCN output plus each exercise's residual."""
        x = torch.cat([self.exercise_feat, self.concept_feat], dim=0)  # (n + c, d)
        h = torch.relu(self.adj @ self.gcn1(x))
        h = self.adj @ self.gcn2(h)  # (n + c, d)
        return h[: self.cfg.n_exercises] + self.residual.weight

    def forward(self, exercises: torch.Tensor, responses: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        table = self.exercise_embeddings()  # (n, d)
        e = table[exercises]  # (b, t, d)
        r = responses.unsqueeze(-1).to(e.dtype)  # (b, t, 1)
        inter = torch.cat([e * r, e * (1 - r)], dim=-1)  # (b, t, 2d): like DKT's one-hot of (e, r)
        start = self.start.expand(inter.shape[0], 1, inter.shape[2])
        x = torch.cat([start, inter[:, :-1]], dim=1)  # (b, t, 2d): step t sees steps < t only
        h, _ = self.lstm(x)  # (b, t, hidden)
        z = torch.cat([self.drop(h), table[query]], dim=-1)  # (b, t, hidden + d)
        return self.head(z).squeeze(-1)  # (b, t)

    def next_logits(self, exercises: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """Logits of every exercise as the step after the ``(b, t)`` history: ``(b, n_exercises)``."""
        pad = exercises.new_zeros((exercises.shape[0], 1))
        ex, r = torch.cat([exercises, pad], 1), torch.cat([responses, pad], 1)
        table = self.exercise_embeddings()
        e, rr = table[ex], r.unsqueeze(-1).to(table.dtype)
        inter = torch.cat([e * rr, e * (1 - rr)], dim=-1)
        x = torch.cat([self.start.expand(inter.shape[0], 1, inter.shape[2]), inter[:, :-1]], dim=1)
        h, _ = self.lstm(x)
        last = self.drop(h[:, -1]).unsqueeze(1).expand(-1, table.shape[0], -1)  # (b, n, hidden)
        z = torch.cat([last, table.unsqueeze(0).expand(last.shape[0], -1, -1)], dim=-1)
        return self.head(z).squeeze(-1)  # (b, n)


def _default_concepts(n_exercises: int, n_concepts: int) -> list[int]:
    return [i % n_concepts for i in range(n_exercises)]


@register_model("graph_dkt", family="graph", example=sequence_example, input_names=SEQUENCE_INPUTS)
def graph_dkt(
    *, n_exercises: int = 50, concept_of: Sequence[int] | None = None, n_concepts: int | None = None,
    embed: int = 32, hidden: int = 128, dropout: float = 0.2,
) -> nn.Module:
    """DKT with GCN exercise embeddings over the exercise–concept graph (scores unseen exercises)."""
    if concept_of is None:
        n_concepts = n_concepts or 5
        concept_of = _default_concepts(n_exercises, n_concepts)
    concept_of = [int(c) for c in concept_of]
    if len(concept_of) != n_exercises:
        raise ConfigError(
            f"The 'concept_of' parameter of graph_dkt must have one concept per exercise ({n_exercises}). "
            f"Got {len(concept_of)} entries instead.",
            f"graph_dkt 的参数 'concept_of' 必须为每道练习给出一个概念（{n_exercises} 个），实际为 {len(concept_of)} 个。",
        )
    n_concepts = n_concepts or (max(concept_of) + 1 if concept_of else 1)
    return GraphDKT(GraphDKTConfig(n_exercises, concept_of, n_concepts, embed, hidden, dropout))
