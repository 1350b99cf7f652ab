"""The Hugging Face folder convention: ``save_pretrained`` / ``from_pretrained`` round trips
bit for bit (weights, spec, decoded images), the model card holds the run's last metrics and
its figures, loading never executes anything in the folder, and the Hub is reached only through
``huggingface_hub`` (replaced here by a local stand-in: no network), with the signatures of the
real package where it is installed."""

from __future__ import annotations

import inspect
import json
import pickle
import sys
import types
from pathlib import Path

import pytest
import torch

import aegan
from aegan import api
from aegan.errors import ConfigError, RunError
from aegan.hub import PATTERNS, Pretrained
from aegan.presets import get_preset

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A VAE trained for one epoch on 300 digits (its history and one epoch grid)."""
    config = get_preset("vae-digits").replace("data", limit=300).replace("train", epochs=1)
    return api.train(config, tmp_path_factory.mktemp("runs") / "vae", progress=False)


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_save_and_load_round_trip_with_a_model_card(run, tmp_path):
    pretrained = aegan.from_pretrained(run)  # a run folder loads as it is
    assert isinstance(pretrained, Pretrained) and not pretrained.model.training
    pretrained.save_pretrained(tmp_path / "saved", repo_id="me/vae")
    files = sorted(str(p.relative_to(tmp_path / "saved")) for p in (tmp_path / "saved").rglob("*"))
    assert files == ["README.md", "config.json", "figures", "figures/samples_epoch_001.png",
                     "history.jsonl", "model.safetensors"]
    loaded = aegan.from_pretrained(tmp_path / "saved")
    assert _same_weights(pretrained.model, loaded.model)
    assert loaded.config.spec == pretrained.config.spec and loaded.config.data.dir is None
    z = torch.randn(4, loaded.model.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(pretrained.model.decode(z), loaded.model.decode(z))
    card = (tmp_path / "saved" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: aegan\ntags:\n- aegan\n- vae\n")
    assert "\n# me/vae\n" in card and 'aegan.from_pretrained("me/vae")' in card
    last = json.loads((run / "history.jsonl").read_text().splitlines()[-1])
    assert f"| valid_loss | {last['valid_loss']:.6g} |" in card
    assert f"| train_kl | {last['train_kl']:.6g} |" in card
    assert "![samples_epoch_001](figures/samples_epoch_001.png)" in card
    assert (tmp_path / "saved" / "figures" / "samples_epoch_001.png").read_bytes() == \
        (run / "samples" / "epoch_001.png").read_bytes()
    assert "preset `vae-digits`" in card and "It can encode, decode, reconstruct" in card
    again = aegan.from_pretrained(tmp_path / "saved")  # a saved folder saves the same card
    again.save_pretrained(tmp_path / "again", repo_id="me/vae")
    assert (tmp_path / "again" / "README.md").read_text() == card


def test_loading_never_runs_what_the_folder_holds(run, tmp_path):
    folder = tmp_path / "hostile"
    Pretrained.from_pretrained(run).save_pretrained(folder)
    marker = tmp_path / "ran"

    class Payload:  # a pickle that would write the marker when unpickled
        def __reduce__(self):
            return (Path.write_text, (marker, "x"))

    (folder / "model.pt").write_bytes(pickle.dumps(Payload()))
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    (folder / "modeling_aegan.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    loaded = aegan.from_pretrained(folder)
    assert loaded.model.family == "vae" and not marker.exists()
    (folder / "model.safetensors").unlink()  # only the pickle left: refused, not read
    with pytest.raises(RunError, match="safetensors only"):
        aegan.from_pretrained(folder)
    assert not marker.exists()


class FakeHub(types.ModuleType):
    """``huggingface_hub`` as far as aegan uses it, on local folders: the calls it receives."""

    def __init__(self, repos: dict[str, Path]):
        super().__init__("huggingface_hub")
        self.repos, self.calls, hub = repos, [], self

        def snapshot_download(repo_id, **kwargs):
            hub.calls.append(("snapshot_download", repo_id, kwargs))
            if repo_id not in hub.repos:
                raise FileNotFoundError(f"404 Client Error: Repository Not Found for {repo_id}")
            return str(hub.repos[repo_id])

        class HfApi:
            def __init__(self, token=None):
                hub.calls.append(("HfApi", token))

            def create_repo(self, repo_id, **kwargs):
                hub.calls.append(("create_repo", repo_id, kwargs))
                return types.SimpleNamespace(repo_id=repo_id)

            def upload_folder(self, **kwargs):
                files = sorted(str(p.relative_to(kwargs["folder_path"]))
                               for p in Path(kwargs["folder_path"]).rglob("*") if p.is_file())
                hub.calls.append(("upload_folder", files, kwargs))
                return f"https://hub.example/{kwargs['repo_id']}/commit/1"

        self.snapshot_download, self.HfApi = snapshot_download, HfApi


def test_a_repo_id_goes_through_huggingface_hub(run, tmp_path, monkeypatch):
    Pretrained.from_pretrained(run).save_pretrained(tmp_path / "remote")
    hub = FakeHub({"someone/vae": tmp_path / "remote"})
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    loaded = aegan.from_pretrained("someone/vae", revision="v1", token="t")
    assert _same_weights(loaded.model, aegan.from_pretrained(run).model)
    (_, repo_id, kwargs), = [c for c in hub.calls if c[0] == "snapshot_download"]
    assert repo_id == "someone/vae" and kwargs["revision"] == "v1" and kwargs["token"] == "t"
    assert kwargs["allow_patterns"] == PATTERNS  # JSON, safetensors, Markdown, PNG: no code
    with pytest.raises(RunError, match="cannot download someone/else .*Repository Not Found"):
        aegan.from_pretrained("someone/else")

    url = loaded.push_to_hub("me/my-vae", private=True, token="t2")
    assert url == "https://hub.example/me/my-vae/commit/1"
    create = next(c for c in hub.calls if c[0] == "create_repo")
    assert create[1] == "me/my-vae" and create[2] == {"private": True, "exist_ok": True}
    upload = [c for c in hub.calls if c[0] == "upload_folder"][-1]
    assert upload[1] == ["README.md", "config.json", "figures/samples_epoch_001.png",
                         "history.jsonl", "model.safetensors"]
    assert upload[2]["repo_id"] == "me/my-vae" and upload[2]["repo_type"] == "model"
    url = loaded.save_pretrained(tmp_path / "pushed", repo_id="me/other", push_to_hub=True)
    assert url.endswith("me/other/commit/1")
    assert (tmp_path / "pushed" / "model.safetensors").is_file()
    assert 'aegan.from_pretrained("me/other")' in (tmp_path / "pushed" / "README.md").read_text()


def test_without_huggingface_hub_local_folders_load_and_repo_ids_say_what_to_install(
        run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails
    assert aegan.from_pretrained(run).model.family == "vae"  # no import needed
    with pytest.raises(ConfigError, match=r"pip install 'aegan\[hub\]'"):
        aegan.from_pretrained("someone/vae")
    with pytest.raises(ConfigError, match=r"pip install 'aegan\[hub\]'"):
        aegan.from_pretrained(run).push_to_hub("me/vae")
    with pytest.raises(RunError, match="does not exist, and it is not a Hub repo id"):
        aegan.from_pretrained(tmp_path / "not" / "here")


def test_the_calls_bind_to_the_real_huggingface_hub():
    hub = pytest.importorskip("huggingface_hub", reason="huggingface_hub is not installed "
                              "(pip install 'aegan[hub]'); the signatures are not checked")
    inspect.signature(hub.snapshot_download).bind(
        "a/b", revision=None, cache_dir=None, force_download=False, token=None,
        local_files_only=False, allow_patterns=PATTERNS, library_name="aegan",
        library_version=aegan.__version__)
    inspect.signature(hub.HfApi).bind(token=None)
    inspect.signature(hub.HfApi.create_repo).bind(None, repo_id="a/b", private=None, exist_ok=True)
    inspect.signature(hub.HfApi.upload_folder).bind(
        None, repo_id="a/b", repo_type="model", folder_path=".", commit_message="m",
        revision=None, create_pr=None, allow_patterns=None, ignore_patterns=None,
        delete_patterns=None)
    mixin = inspect.signature(hub.ModelHubMixin.from_pretrained).parameters
    ours = inspect.signature(Pretrained.from_pretrained).parameters
    assert {k for k in ours} <= set(mixin)  # the mixin's names for the same arguments
