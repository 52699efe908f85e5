"""Serving image and knowledge-tracing runs: the same scores as the PyTorch model."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from bentu.inference.serve import create_app

from _inference_runs import build_image_run, build_sequence_run


def _png(pixels: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_images_as_png_or_arrays(tmp_path):
    run, model = build_image_run(tmp_path)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 28, 28))
    with TestClient(create_app(run)) as c:
        by_png = c.post("/v1/predict", json={"records": [{"image": _png(p)} for p in pixels]})
        by_array = c.post("/v1/predict", json={"records": [{"image": p.tolist()} for p in pixels]})
        bad = c.post("/v1/predict", json={"records": [{"image": "not an image"}]})
        wrong = c.post("/v1/predict", json={"records": [{"image": [[1, 2], [3, 4]]}]})
        info = c.get("/v1/model").json()
    assert by_png.status_code == 200 and by_array.status_code == 200
    x = torch.from_numpy(((pixels / 255.0 - 0.4) / 0.25).astype(np.float32)[:, None])
    with torch.no_grad():
        want = torch.sigmoid(model(x)).numpy()
    for r in (by_png, by_array):
        np.testing.assert_allclose([p["score"] for p in r.json()["predictions"]], want, atol=1e-5)
        assert {p["decision"] for p in r.json()["predictions"]} <= {"benign", "malignant"}
    assert bad.status_code == 422 and "records[0].image: not a base64-encoded PNG or JPEG image." in bad.text
    assert wrong.status_code == 422 and "expected (1, 28, 28)" in wrong.text
    assert info["kind"] == "image"


def test_answer_histories_score_the_next_exercise(tmp_path):
    run, model = build_sequence_run(tmp_path)
    recs = [{"exercises": [1, 2, 3], "responses": [1, 0, 1], "next": 4}, {"exercises": [5], "responses": [0], "next": 5}]
    with TestClient(create_app(run)) as c:
        r = c.post("/v1/predict", json={"records": recs})
        out_of_range = c.post("/v1/predict", json={"records": [{"exercises": [10], "responses": [1], "next": 0}]})
        mismatch = c.post("/v1/predict", json={"records": [{"exercises": [1, 2], "responses": [1], "next": 0}]})
    assert r.status_code == 200
    for rec, pred in zip(recs, r.json()["predictions"]):
        ex = torch.tensor([rec["exercises"] + [rec["next"]]])
        resp = torch.tensor([rec["responses"] + [0]])
        with torch.no_grad():
            want = torch.sigmoid(model(ex, resp, ex))[0, -1].item()
        assert pred["score"] == pytest.approx(want, abs=1e-5)
        assert pred["decision"] in ("likely_correct", "likely_incorrect")
    assert out_of_range.status_code == 422 and "records[0].exercises[0]" in out_of_range.text
    assert mismatch.status_code == 422 and "'exercises' has 2 steps but 'responses' has 1" in mismatch.text
