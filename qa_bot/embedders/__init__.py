"""Sentence embeddings behind one small interface.

- ``protocol.py``: the :class:`Embedder` interface every backend (and the tests' fakes) satisfies.
- ``model_files.py``: where a model's files are (a folder, or the bundled wheel) and the name an index records.
- ``memory.py``: giving freed heap back to the OS after each batch.
- ``torch_backend.py``: sentence-transformers on PyTorch, the reference.
- ``onnx_backend.py``: the same model exported to ONNX and run by onnxruntime (fp32 or int8).
- ``factory.py``: :func:`make_embedder`, the backend the settings ask for; the only module that knows them all.
"""
from .factory import make_embedder
from .model_files import embedder_identity
from .protocol import Embedder

__all__ = ["Embedder", "embedder_identity", "make_embedder"]
