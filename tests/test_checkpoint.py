import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.registry import registry
from gan_zoo.training import run


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    reg = registry()
    out = tmp_path_factory.mktemp("ckpt")
    config = reg.family("vanilla").Config(width=8, batch_size=8)
    run(reg, "vanilla", config, open_dataset(reg.dataset("ring8")), out=out, seed=0, steps=2,
        device=torch.device("cpu"))
    return (out / "model.safetensors").read_bytes()


def one_line_error(path):
    with pytest.raises(UserError) as caught:
        load_model(read_checkpoint(path), registry())
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_truncated_file(checkpoint_bytes, tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(checkpoint_bytes[: len(checkpoint_bytes) // 2])
    assert "not a readable safetensors file" in one_line_error(path)


def test_pickle_renamed_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Payload()))
    assert "not a readable safetensors file" in one_line_error(path)
    assert not marker.exists()


def test_safetensors_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, path)
    assert "not a gan-zoo checkpoint" in one_line_error(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such checkpoint file"):
        read_checkpoint(tmp_path / "nope.safetensors")


def rewrite(checkpoint_bytes, tmp_path, **meta_changes):
    source = tmp_path / "source.safetensors"
    source.write_bytes(checkpoint_bytes)
    ckpt = read_checkpoint(source)
    raw = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in ckpt.metadata.items()}
    raw.update(seed=str(ckpt.metadata["seed"]), step=str(ckpt.metadata["step"]), **meta_changes)
    return dict(ckpt.tensors), raw


def test_unknown_family_names_its_plugin_and_near_names(checkpoint_bytes, tmp_path):
    tensors, raw = rewrite(checkpoint_bytes, tmp_path, family="vanila")
    path = tmp_path / "renamed.safetensors"
    save_file(tensors, path, metadata=raw)
    message = one_line_error(path)
    assert "family 'vanila' is not installed; its plugin vanilla (gan-zoo " in message
    assert message.endswith("has no such family; did you mean 'vanilla'?")


def test_family_of_a_plugin_not_installed_names_the_distribution(checkpoint_bytes, tmp_path):
    plugin = json.dumps({"name": "lsgan", "distribution": "gan-zoo-lsgan", "version": "0.1.0"})
    tensors, raw = rewrite(checkpoint_bytes, tmp_path, family="lsgan", plugin=plugin)
    path = tmp_path / "lsgan.safetensors"
    save_file(tensors, path, metadata=raw)
    assert one_line_error(path) == (f"{path}: family 'lsgan' is not installed; it came from plugin lsgan "
                                    f"(gan-zoo-lsgan 0.1.0): pip install gan-zoo-lsgan")


def test_checkpoint_round_trip_keeps_the_metadata(checkpoint_bytes, tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(checkpoint_bytes)
    ckpt = read_checkpoint(path)
    meta = ckpt.metadata
    assert meta["family"] == "vanilla" and meta["step"] == meta["total_steps"] == 2 and meta["seconds"] >= 0
    assert meta["config"]["width"] == 8 and meta["spec"]["shape"] == [2] and meta["dataset"]["name"] == "ring8"
    assert load_model(ckpt, registry()).config.width == 8


def test_shape_mismatch(checkpoint_bytes, tmp_path):
    tensors, raw = rewrite(checkpoint_bytes, tmp_path)
    config = json.loads(raw["config"])
    config["width"] = 9
    raw["config"] = json.dumps(config)
    path = tmp_path / "wider.safetensors"
    save_file(tensors, path, metadata=raw)
    assert "has shape" in one_line_error(path)

