"""bentu (本土): take an AI model to a new place and make it work under that place's rules."""

__version__ = "0.1.0"
__all__ = ["__version__"]
