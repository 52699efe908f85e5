"""The HTTP scoring service: FastAPI + ONNX Runtime around one run directory."""

from bentu.inference.serve._app import create_app, load_state
from bentu.inference.serve.auth import add_key, hash_key, load_key_hashes
from bentu.inference.serve.decision_log import DecisionLog, verify_decision_log

__all__ = ["create_app", "load_state", "add_key", "hash_key", "load_key_hashes", "DecisionLog", "verify_decision_log"]
