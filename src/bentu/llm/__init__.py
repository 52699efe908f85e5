"""Large language models, localized: model access, the compliant gateway, the GB/T 45654 assessment."""

from bentu.llm.models import ChatModel, Completion, EndpointModel, LocalModel, open_model

__all__ = ["ChatModel", "Completion", "EndpointModel", "LocalModel", "open_model"]
