"""Knowledge-tracing models of the registry: shapes, ONNX parity on new shapes, unseen exercises."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from bentu.audit.kt_eval import SequenceDataset
from bentu.datasets.student_sim import StudentSimulator
from bentu.inference.export import export_onnx
from bentu.models import create_model, example_inputs, get_entry, list_models
from bentu.train import Trainer

SMALL = {"dkt": {"hidden": 16, "embed": 8}, "sakt": {"d_model": 16, "heads": 2}, "graph_dkt": {"embed": 8, "hidden": 16},
         "irt": {"grid": 21}}


def test_registered_in_their_families():
    assert {"dkt", "sakt", "irt"} <= set(list_models(family="sequence"))
    assert "graph_dkt" in list_models(family="graph")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_onnx_parity_with_dynamic_batch_and_time(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, n_exercises=30, **SMALL[name]).eval()
    entry = get_entry(name)
    ex = example_inputs(name, 3, n_exercises=30)
    assert all(t.dtype == torch.int64 for t in ex)
    res = export_onnx(model, ex, tmp_path / "m.onnx", input_names=entry.input_names,
                      dynamic_dims={n: {1: "time"} for n in entry.input_names})
    assert res["passed"], res
    other = example_inputs(name, 7, n_exercises=30, time=41)  # another batch size and length
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {n: t.numpy() for n, t in zip(entry.input_names, other)})[0]
    with torch.no_grad():
        want = model(*other).numpy()
    assert got.shape == (7, 41)
    assert np.abs(got - want).max() <= 1e-4


def test_graph_model_scores_an_unseen_exercise_from_its_concept():
    torch.manual_seed(0)
    sim = StudentSimulator(n_exercises=12, n_concepts=3, seed=0)
    data = sim.simulate(60, 20, seed=0)
    unseen = 5
    keep = [e != unseen for e in data.exercises]
    data.exercises = [e[k] for e, k in zip(data.exercises, keep)]
    data.responses = [r[k] for r, k in zip(data.responses, keep)]
    model = create_model("graph_dkt", n_exercises=12, concept_of=sim.concept_of.tolist(), embed=8, hidden=16)
    Trainer(epochs=2, batch_size=16, weight_decay=1e-4).fit(model, SequenceDataset(data, 20))
    assert float(model.residual.weight.detach()[unseen].abs().max()) == 0.0  # never answered: concept-only embedding
    emb = model.exercise_embeddings().detach()
    same = [j for j in range(12) if sim.concept_of[j] == sim.concept_of[unseen] and j != unseen]
    assert len(same) > 0 and float(emb[unseen].norm()) > 0  # it still has a (graph) embedding


def test_graph_model_rejects_a_concept_map_of_the_wrong_length():
    from bentu.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        create_model("graph_dkt", n_exercises=4, concept_of=[0, 1])
    assert err.value.en == "The 'concept_of' parameter of graph_dkt must have one concept per exercise (4). Got 2 entries instead."
