"""Drive the service with schemathesis (OpenAPI-based fuzzing): no request may get a 5xx.

Uses schemathesis's hypothesis strategies directly (its pytest plugin does not load under this
pytest), positive and negative (schema-violating) cases for every operation. The one 5xx allowed
is /v1/explain's documented 501 while no explainer (bentu.audit.explain) is installed.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis==4.32.5 (a test dependency)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from bentu.inference.serve import add_key, create_app  # noqa: E402


@pytest.fixture(scope="module")
def fuzz_target(run_dir_master, tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    key = add_key(keys)
    app = create_app(run_dir_master, api_keys_file=keys, decision_log=tmp_path_factory.mktemp("log") / "d.jsonl",
                     max_body_bytes=200_000)
    return schemathesis.openapi.from_asgi("/openapi.json", app), key


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(fuzz_target, mode):
    schema, key = fuzz_target
    operations = [op.ok() for op in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/predict", "/v1/explain", "/v1/model", "/healthz", "/readyz"}
    seen: dict[int, int] = {}
    try:
        import bentu.audit.explain  # noqa: F401

        no_explainer = False
    except ImportError:
        no_explainer = True
    for op in operations:
        if mode == GenerationMode.NEGATIVE and op.method.upper() != "POST":
            continue  # nothing to break in a parameterless GET
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=25 if op.method.upper() == "POST" else 3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            if no_explainer and op.path == "/v1/explain" and response.status_code == 501:
                return  # the documented answer while bentu.audit.explain is absent, not a failure
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (op.path, response.status_code, response.text[:300])
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert sum(seen.values()) > 0 and not any(code >= 500 for code in seen)
