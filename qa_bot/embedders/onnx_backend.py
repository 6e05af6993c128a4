"""The sentence-transformers model run through onnxruntime: same vectors (cosine ≥ 0.98 to the PyTorch ones when
int8-quantised, ≈1.0 in float32), several times the throughput on a small CPU, and no torch import at run time.

The bundled MiniLM is exported once with ``torch.onnx.export`` (optionally quantised with onnxruntime's dynamic int8
quantisation) into a cache folder next to the index, then reused. The pipeline reproduces sentence-transformers'
``Transformer → Pooling(mean) → Normalize`` exactly: same fast tokenizer, same truncation length, mean of the token
vectors under the attention mask, L2 normalisation."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelNotFoundError
from ..locks import exclusive_lock
from .memory import return_freed_memory
from .model_files import embedder_identity, resolve_embedder_path

# Bump when the exported graph or the quantisation recipe changes, so older cached files are not reused.
EXPORT_FORMAT = "eager-attn-opset17-int8-per-channel-v1"
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# An export is checked against the PyTorch model on these before it is cached; below the floor it is refused.
PROBE_TEXTS = (
    "Russia provided North Korea with expertise for its satellite program.",
    "Shares fell 3.2% on Tuesday after the company cut its forecast for the year, citing weaker demand in China "
    "and higher costs for raw materials, the chief executive told analysts on a call.",
    "Hello.",
)
MIN_PROBE_COSINE = {"fp32": 0.9999, "int8": 0.98}


class EmbedderExportError(ModelNotFoundError):
    """The embedding model could not be exported to ONNX (or the export does not reproduce the PyTorch vectors)."""


def _cpu_threads() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class SentenceTransformerConfig:
    """What the sentence-transformers folder says about tokenising and pooling, read from its JSON files."""

    def __init__(self, path: Path):
        self.path = path
        modules = _read_json(path / "modules.json", default=[])
        types = [m.get("type", "") for m in modules]
        pooling_dir = next((path / m.get("path", "") for m in modules if m.get("type", "").endswith(".Pooling")), None)
        pooling = _read_json(pooling_dir / "config.json", default={}) if pooling_dir else {"pooling_mode_mean_tokens": True}
        other_modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"]
        if not pooling.get("pooling_mode_mean_tokens") or other_modes:
            raise ModelNotFoundError(
                f"the ONNX backend only reproduces mean pooling, and {path} uses {other_modes or 'another pooling'}; "
                "set QA_BOT_EMBED_BACKEND=torch for this model"
            )
        unsupported = [t for t in types if not t.endswith((".Transformer", ".Pooling", ".Normalize"))]
        if unsupported:
            raise ModelNotFoundError(
                f"the ONNX backend does not reproduce the modules {unsupported} of {path}; "
                "set QA_BOT_EMBED_BACKEND=torch for this model"
            )
        bert = _read_json(path / "sentence_bert_config.json", default={})
        model = _read_json(path / "config.json", default={})
        # sentence-transformers: max_seq_length from sentence_bert_config.json, else the model's position limit.
        self.max_seq_length = int(bert.get("max_seq_length") or model.get("max_position_embeddings") or 512)
        self.do_lower_case = bool(bert.get("do_lower_case", False))
        self.dimension = int(pooling.get("word_embedding_dimension") or model.get("hidden_size") or 0)
        if not (path / "tokenizer.json").is_file():
            raise ModelNotFoundError(
                f"{path} has no tokenizer.json (fast tokenizer), which the ONNX backend needs; "
                "set QA_BOT_EMBED_BACKEND=torch for this model"
            )

    def fingerprint(self) -> str:
        """Changes when the weights, the model config or the export recipe change (cheap: no hashing of weights)."""
        h = hashlib.sha256(EXPORT_FORMAT.encode())
        for name in ("config.json", "sentence_bert_config.json", "tokenizer.json"):
            file = self.path / name
            if file.is_file():
                h.update(name.encode() + b"\0" + file.read_bytes())
        for weights in sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("pytorch_model*.bin")):
            stat = weights.stat()
            h.update(f"{weights.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        return h.hexdigest()[:16]


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"cannot read {path}: {err}; reinstall the embedding model") from err


def load_tokenizers(model_dir: Path, max_seq_length: int):
    """(encoder, counter, pad id) from the model's tokenizer.json: the encoder truncates to ``max_seq_length`` like
    sentence-transformers and does not pad (batches are padded by the caller); the counter neither truncates nor pads.

    tokenizer.json may carry its own truncation and padding (this MiniLM's pads everything to 128): both are reset."""
    from tokenizers import Tokenizer

    file = str(model_dir / "tokenizer.json")
    encoder, counter = Tokenizer.from_file(file), Tokenizer.from_file(file)
    pad_id = encoder.padding["pad_id"] if encoder.padding else (encoder.token_to_id("[PAD]") or 0)
    encoder.no_padding()
    encoder.enable_truncation(max_seq_length)
    counter.no_padding()
    counter.no_truncation()
    return encoder, counter, pad_id


def pad_batch(encodings, pad_id: int) -> dict[str, np.ndarray]:
    """The model's three inputs for a batch of encodings, right-padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros((len(encodings), width), dtype=np.int64)
    for i, e in enumerate(encodings):
        n = len(e.ids)
        ids[i, :n] = e.ids
        mask[i, :n] = 1
        types[i, :n] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def mean_pool_normalize(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize: mean of the unmasked token vectors, L2-normalised."""
    mask = attention_mask[..., None].astype(np.float32)
    summed = (hidden * mask).sum(axis=1)
    pooled = summed / np.clip(mask.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class OnnxEmbedder:
    """A sentence-transformers model through onnxruntime (``quantized``: dynamic int8 weights).

    Loads nothing until first used. The ONNX file is exported on first use into ``cache_dir`` (shared safely by
    concurrent processes: exported under a lock into a temporary file, then renamed into place)."""

    def __init__(self, model: str, quantized: bool = True, cache_dir: Path | str = Path("index") / ".onnx",
                 batch_size: int = 64, threads: int | None = None):
        self.name = embedder_identity(model)
        self.path = resolve_embedder_path(model)
        self.config = SentenceTransformerConfig(self.path)
        self.quantized = quantized
        self.cache_dir = Path(cache_dir)
        self.batch_size = max(1, batch_size)
        self.threads = threads or _cpu_threads()
        self._lock = threading.Lock()
        self._session = None
        self._tokenizers = None  # (truncating encoder, plain counter, pad id), loaded on first use

    @property
    def max_tokens(self) -> int:
        return self.config.max_seq_length - 2  # [CLS] and [SEP]

    @property
    def kind(self) -> str:
        return "int8" if self.quantized else "fp32"

    @property
    def onnx_path(self) -> Path:
        return self.cache_dir / f"{self.name}-{self.config.fingerprint()}-{self.kind}.onnx"

    # -- loading -------------------------------------------------------------------------------------------------
    @property
    def tokenizers(self):
        if self._tokenizers is None:
            self._tokenizers = load_tokenizers(self.path, self.config.max_seq_length)
        return self._tokenizers

    @property
    def session(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = ensure_exported(self.path, self.onnx_path, self.quantized, self.config,
                                       stale=re.compile(rf"{re.escape(self.name)}-[0-9a-f]{{16}}-{self.kind}\.onnx"))
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # No busy-waiting between operators: the cores are shared with llama.cpp and the UI, and with spinning
                # a short query took 2-10x longer whenever another process wanted the CPU.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                try:
                    self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types
                    raise ModelNotFoundError(
                        f"cannot load the ONNX embedding model {path} ({err}); delete it to export it again"
                    ) from err
            return self._session

    # -- Embedder protocol -----------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        _, counter, _ = self.tokenizers
        return [len(e.ids) for e in counter.encode_batch(self._prepare(texts), add_special_tokens=False)]

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        return [t.lower() for t in texts] if self.config.do_lower_case else list(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.config.dimension), dtype=np.float32)
        session = self.session
        encoder, _, pad_id = self.tokenizers
        encodings = encoder.encode_batch(self._prepare(texts))
        # Similar lengths in one batch: little padding, and padding is most of the cost of long mixed batches.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.config.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            feed = pad_batch([encodings[row] for row in rows], pad_id)
            (hidden,) = session.run(None, feed)
            out[rows] = mean_pool_normalize(hidden, feed["attention_mask"])
        return_freed_memory()
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


# -- export ----------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def ensure_exported(model_dir: Path, target: Path, quantized: bool, config: SentenceTransformerConfig,
                    stale: re.Pattern | None = None) -> Path:
    """``target`` exists on return: exported now (under a lock, atomically renamed into place) or already there.
    Files in the same folder whose name matches ``stale`` (exports of older weights or recipes) are then removed."""
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = target.parent / ".export.lock"
        with exclusive_lock(lock):
            if target.is_file():  # another process finished it while we waited
                return target
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
                export_onnx(model_dir, Path(work), target, quantized, config)
            for old in target.parent.iterdir():
                if stale is not None and old != target and stale.fullmatch(old.name):
                    old.unlink(missing_ok=True)
    except OSError as err:
        raise EmbedderExportError(
            f"cannot write the ONNX embedding model into {target.parent} ({err.strerror or err}); make the index "
            "folder writable, or set QA_BOT_EMBED_BACKEND=torch"
        ) from err
    return target


def export_onnx(model_dir: Path, work: Path, target: Path, quantized: bool, config: SentenceTransformerConfig) -> None:
    """Export the transformer with ``torch.onnx.export``, optionally quantise it, check it against PyTorch on
    :data:`PROBE_TEXTS`, and move it to ``target``."""
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as err:
        raise EmbedderExportError(
            f"exporting the embedding model to ONNX needs torch and transformers ({err}); install them, or set "
            "QA_BOT_EMBED_BACKEND=torch"
        ) from err

    hf_logging.disable_progress_bar()
    try:
        # Eager attention exports as plain MatMul/Softmax, which onnxruntime fuses into its Attention kernel.
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    except (OSError, ValueError) as err:
        raise EmbedderExportError(f"cannot load the embedding model at {model_dir} for export: {err}") from err

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # The reference vectors are computed before exporting: the tracer leaves the module unfit to run afterwards.
    encoder, _, pad_id = load_tokenizers(model_dir, config.max_seq_length)
    probe = pad_batch(encoder.encode_batch(list(PROBE_TEXTS)), pad_id)
    with torch.no_grad():
        reference = model(**{k: torch.from_numpy(v) for k, v in probe.items()}).last_hidden_state.numpy()
    reference = mean_pool_normalize(reference, probe["attention_mask"])

    fp32 = work / "model-fp32.onnx"
    # A padded sample, so the traced graph keeps the attention-mask path (an all-ones mask can be optimised away),
    # and three distinct tensors (the tracer maps one tensor passed twice to a single graph input).
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 8:] = 0
    sample = (torch.full((2, 16), 1000, dtype=torch.long), mask, torch.zeros((2, 16), dtype=torch.long))
    axes = {"batch": 0, "sequence": 1}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter; the probe check below is the real test
            torch.onnx.export(
                LastHiddenState(model), sample, str(fp32),
                input_names=list(ONNX_INPUTS), output_names=["last_hidden_state"],
                dynamic_axes={n: {v: k for k, v in axes.items()} for n in (*ONNX_INPUTS, "last_hidden_state")},
                opset_version=17, dynamo=False,
            )
    except Exception as err:  # torch's exporter raises many unrelated types
        raise EmbedderExportError(
            f"torch.onnx.export failed for {model_dir} ({type(err).__name__}: {err}); set QA_BOT_EMBED_BACKEND=torch"
        ) from err
    result = fp32
    if quantized:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        result = work / "model-int8.onnx"
        # Per-channel int8 weights: per-tensor scales lose too much on CPUs without VNNI (cosine ≈ 0.95 to torch).
        with _quiet_root_logger():  # it advises "pre-processing" on the root logger, which only adds shape info
            quantize_dynamic(str(fp32), str(result), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": 1})  # FLOAT, for outputs shape inference leaves untyped
    _check_probe(result, probe, reference, model_dir, "int8" if quantized else "fp32")
    os.replace(result, target)  # atomic within one file system: readers see no file or the whole file


def _check_probe(onnx_file: Path, probe: dict[str, np.ndarray], reference: np.ndarray, model_dir: Path,
                 kind: str) -> None:
    """Refuse an export whose sentence vectors for the probe texts stray from PyTorch's."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (hidden,) = session.run(None, probe)
    cosines = (mean_pool_normalize(hidden, probe["attention_mask"]) * reference).sum(axis=1)
    if float(cosines.min()) < MIN_PROBE_COSINE[kind]:
        raise EmbedderExportError(
            f"the {kind} ONNX export of {model_dir} does not reproduce the PyTorch vectors (cosine "
            f"{float(cosines.min()):.4f} < {MIN_PROBE_COSINE[kind]}); set QA_BOT_EMBED_BACKEND=torch and report this"
        )


__all__ = ["OnnxEmbedder", "EmbedderExportError", "ensure_exported", "mean_pool_normalize"]
