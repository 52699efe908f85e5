"""INFERENCE LAYER: ONNX export and parity, compression, the Predictor and the HTTP service."""

from bentu.inference.export import PARITY_TOLERANCE, check_parity, export_onnx
from bentu.inference.predictor import Predictor

__all__ = ["PARITY_TOLERANCE", "Predictor", "check_parity", "export_onnx"]
