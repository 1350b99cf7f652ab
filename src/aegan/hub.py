"""Trained models in the Hugging Face folder convention: ``config.json``, ``model.safetensors``
and a model card ``README.md`` (with the run's last metrics and its figures), loaded with
:func:`from_pretrained` and saved with :meth:`Pretrained.save_pretrained`, as
``huggingface_hub``'s ``ModelHubMixin`` names them, so that ``push_to_hub`` works for anyone
with an account.

A folder saved here is also a run folder (``aegan generate DIR``, ``aegan explore DIR``), and
a run folder loads as it is. Loading reads JSON and safetensors only (the digest-checked codec
of :mod:`aegan.weights`): nothing in the folder is executed or unpickled, whatever else it holds.
``huggingface_hub`` (``pip install 'aegan[hub]'``) is imported only to download a repository
(a repo id, not a local folder) or to push one.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from aegan import __version__
from aegan.errors import ConfigError, RunError
from aegan.fileio import atomic_write_bytes
from aegan.io import CONFIG, MODEL, load_history, load_run, save_model, write_json
from aegan.models import CAPABILITIES, can
from aegan.run import RunConfig
from aegan.train import HISTORY

CARD = "README.md"
FIGURES = "figures"
PATTERNS = [CONFIG, MODEL, CARD, HISTORY, f"{FIGURES}/*.png"]  # what a download fetches
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
HUB_ADVICE = "pip install 'aegan[hub]'"


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError(f"the Hugging Face Hub needs the huggingface_hub package: "
                          f"{HUB_ADVICE}") from None
    return huggingface_hub


class Pretrained:
    """A trained model (``model``, in eval mode on the CPU) with its run config (``config``:
    the data spec it was built for, its training), its history and figures (PNG bytes by file
    name), for the model card."""

    def __init__(self, model, config: RunConfig, history: list[dict] | None = None,
                 figures: dict[str, bytes] | None = None, name: str = ""):
        self.model, self.config = model.eval(), config
        self.history, self.figures = history or [], figures or {}
        self.name = name or config.preset or model.family

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *,
                        revision: str | None = None, cache_dir: str | Path | None = None,
                        force_download: bool = False, token: str | bool | None = None,
                        local_files_only: bool = False) -> Pretrained:
        """Load a folder saved by :meth:`save_pretrained` (or a run folder), or download a
        repository of the Hugging Face Hub by its id (``user/name``) and load that; the other
        arguments are ``huggingface_hub.snapshot_download``'s."""
        where = str(pretrained_model_name_or_path)
        folder = Path(where).expanduser()
        if not folder.is_dir():
            if not _REPO_ID.match(where):
                raise RunError(f"folder {where} does not exist, and it is not a Hub repo id "
                               "(user/name); check the path")
            folder = _download(where, revision, cache_dir, force_download, token,
                               local_files_only)
            return cls.from_folder(folder, name=where)
        return cls.from_folder(folder)

    @classmethod
    def from_folder(cls, folder: str | Path, name: str = "") -> Pretrained:
        """The model of a local folder: ``config.json`` and ``model.safetensors`` (never a
        pickle, never code), its history and figures where present."""
        folder = Path(folder)
        if (folder / CONFIG).is_file() and not (folder / MODEL).is_file():
            raise RunError(f"{folder} holds no {MODEL}; aegan loads weights from safetensors "
                           "only (train the run to its end, or save it with save_pretrained)")
        config, model = load_run(folder)
        return cls(model, config, load_history(folder), _figures(folder),
                   name or folder.resolve().name)

    # -- saving --------------------------------------------------------------------------------
    def save_pretrained(self, save_directory: str | Path, *, repo_id: str | None = None,
                        push_to_hub: bool = False, **push_to_hub_kwargs) -> str | None:
        """Write ``config.json`` (without the training machine's data folder),
        ``model.safetensors``, the model card ``README.md``, the history and the figures into
        ``save_directory`` (created; files of these names replaced, each atomically). With
        ``push_to_hub``, then push them to ``repo_id`` (default: the folder's name) and return
        the commit's URL; ``repo_id`` also names the model in its card."""
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        # the folder the data were read from is the training machine's, not the model's
        write_json(folder / CONFIG, self.config.replace("data", dir=None).to_dict())
        save_model(folder, self.model)
        if self.history:
            atomic_write_bytes(folder / HISTORY, "".join(
                json.dumps(r) + "\n" for r in self.history).encode())
        if self.figures:
            (folder / FIGURES).mkdir(exist_ok=True)
            for name, png in self.figures.items():
                atomic_write_bytes(folder / FIGURES / name, png)
        atomic_write_bytes(folder / CARD, self.model_card(repo_id or "").encode())
        if push_to_hub:
            return self.push_to_hub(repo_id or folder.name, **push_to_hub_kwargs)
        return None

    def push_to_hub(self, repo_id: str, *, commit_message: str = "Upload an aegan model",
                    private: bool | None = None, token: str | None = None,
                    branch: str | None = None, create_pr: bool | None = None,
                    allow_patterns=None, ignore_patterns=None, delete_patterns=None) -> Any:
        """Create the repository ``repo_id`` if needed and upload the saved folder to it in one
        commit (``huggingface_hub``'s ``ModelHubMixin.push_to_hub``); the commit's info."""
        hub = _hub()
        api = hub.HfApi(token=token)
        repo_id = api.create_repo(repo_id=repo_id, private=private, exist_ok=True).repo_id
        with tempfile.TemporaryDirectory(prefix="aegan-push-") as tmp:
            saved = Path(tmp) / "model"
            self.save_pretrained(saved, repo_id=repo_id)
            return api.upload_folder(repo_id=repo_id, repo_type="model", folder_path=saved,
                                     commit_message=commit_message, revision=branch,
                                     create_pr=create_pr, allow_patterns=allow_patterns,
                                     ignore_patterns=ignore_patterns,
                                     delete_patterns=delete_patterns)

    # -- the model card ------------------------------------------------------------------------
    def model_card(self, repo_id: str = "") -> str:
        """The card: what the model is and can do, its last metrics, figures, how to load it."""
        cfg, model, spec = self.config, self.model, self.model.spec
        can_do = [name for c, name in CAPABILITIES.items() if can(model, c)]
        tags = ["aegan", model.family, spec.kind, *can_do]
        lines = ["---", "library_name: aegan", "tags:", *[f"- {t}" for t in tags], "---", "",
                 f"# {repo_id or self.name}", "",
                 f"A {model.family} model (preset `{cfg.preset or 'none'}`) trained with "
                 f"[aegan](https://pypi.org/project/aegan/) on `{cfg.data.name}`: "
                 f"{spec.kind} of shape {list(spec.inputs)}"
                 + (f", values in {list(spec.value_range)}" if spec.value_range else "")
                 + f". It can {', '.join(can_do)}.", ""]
        last = self.history[-1] if self.history else {}
        numbers = {k: v for k, v in last.items() if k.startswith(("train_", "valid_"))}
        if numbers:
            lines += [f"## Metrics (epoch {last.get('epoch', '?')}, the last of training)", "",
                      "| quantity | value |", "| --- | --- |",
                      *[f"| {k} | {v:.6g} |" for k, v in numbers.items()], ""]
        if self.figures:
            lines += ["## Figures", "", *[f"![{Path(n).stem}]({FIGURES}/{n})"
                                         for n in self.figures], ""]
        where = repo_id or "FOLDER"
        lines += ["## Use", "", "```python", "import aegan", "",
                  f'pretrained = aegan.from_pretrained("{where}")',
                  "model = pretrained.model  # a torch.nn.Module in eval mode, on the CPU",
                  "```", "",
                  ("Loading reads `config.json` and `model.safetensors` only (no code, no "
                   "pickle). A copy of the folder is also an aegan run folder: `aegan explore "
                   "FOLDER` looks into its latent space in the browser, `aegan export FOLDER` "
                   "writes its networks for ONNX, and `aegan train config.json` repeats the "
                   "training (given the data)."), "",
                  "## Training", "",
                  (f"{cfg.train.epochs} epochs of batches of {cfg.train.batch_size}, optimizer "
                   f"{cfg.optim.name} (learning rate {cfg.optim.lr:g}), seed {cfg.train.seed}; "
                   f"aegan {__version__}. The whole config is in `config.json`."), ""]
        return "\n".join(lines)


def from_pretrained(pretrained_model_name_or_path: str | Path, **kwargs) -> Pretrained:
    """:meth:`Pretrained.from_pretrained`: a local folder or a Hub repo id."""
    return Pretrained.from_pretrained(pretrained_model_name_or_path, **kwargs)


def _download(repo_id: str, revision, cache_dir, force_download, token,
              local_files_only) -> Path:
    """The repository's config, weights, card, history and figures, fetched into the
    Hugging Face cache; nothing else (no code) is downloaded."""
    hub = _hub()
    try:
        return Path(hub.snapshot_download(
            repo_id, revision=revision, cache_dir=cache_dir, force_download=force_download,
            token=token, local_files_only=local_files_only, allow_patterns=PATTERNS,
            library_name="aegan", library_version=__version__))
    except Exception as exc:  # the hub raises many kinds: not found, offline, no access
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise RunError(f"cannot download {repo_id} from the Hugging Face Hub "
                       f"({type(exc).__name__}: {first[:160]}); check the id, your access "
                       "and the network") from None


def _figures(folder: Path) -> dict[str, bytes]:
    """The folder's figures by file name: its top-level PNGs and those of ``figures/``, and a
    run's last epoch grid (``samples/epoch_NNN.png``)."""
    found = {p.name: p for p in sorted(folder.glob("*.png"))}
    found.update({p.name: p for p in sorted((folder / FIGURES).glob("*.png"))})
    grids = sorted((folder / "samples").glob("epoch_*.png"))
    if grids:
        found[f"samples_{grids[-1].name}"] = grids[-1]
    return {name: path.read_bytes() for name, path in found.items()}
