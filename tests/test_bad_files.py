"""Bad input for every file format gan-zoo reads: checkpoints, IDX (raw and gzipped), CIFAR-10 binary, image folders.

Each corpus case builds a valid file in tmp_path, damages it one way, and expects a one-line UserError under 200
characters that names the file (or folder), with the files on disk unchanged. The fuzz loops then truncate and
flip bytes of small valid files with a fixed seed: every read either succeeds with finite, correctly shaped
output or raises UserError; any other exception fails.
"""

import gzip
import hashlib
import io
import json
import os
import pickle
import random
import re
import struct
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from gan_zoo.checkpoint import load_model, read_checkpoint, restore_optimizers, save_checkpoint
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec
from gan_zoo.registry import registry

CKPT = "model.safetensors"
IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


# -- valid files ----------------------------------------------------------------------------------------------

def write_checkpoint(path):
    """A tiny vanilla GAN after one training step, with its optimizer state: a few kilobytes."""
    reg = registry()
    family = reg.family("vanilla")
    torch.manual_seed(0)
    model = family(family.Config(width=4, depth=1, batch_size=4), DataSpec((2,), 2))
    optimizers = model.configure_optimizers()
    model.training_step(torch.randn(4, 2), optimizers)
    plugin = reg.plugin_of("families", "vanilla").to_json()
    save_checkpoint(path, model, plugin={k: plugin[k] for k in ("name", "distribution", "version")},
                    dataset={"name": "ring8", "fingerprint": "0123456789abcdef", "split_seed": 0, "n_train": 8,
                             "n_heldout": 2},
                    seed=0, step=1, total_steps=2, optimizers=optimizers, seconds=0.5)
    return model


def idx_bytes(array: np.ndarray) -> bytes:
    return b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(root, gz=False, n=6, size=5):
    root.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (n, size, size), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    suffix = ".gz" if gz else ""
    for name, array in ((IMAGES, images), (LABELS, labels)):
        payload = idx_bytes(array)
        (root / f"{name}{suffix}").write_bytes(gzip.compress(payload, mtime=0) if gz else payload)
    return root / f"{IMAGES}{suffix}", root / f"{LABELS}{suffix}"


def write_cifar(root, n=3, name="data_batch_1.bin"):
    root.mkdir(parents=True, exist_ok=True)
    records = np.random.default_rng(0).integers(0, 256, (n, 3073), dtype=np.uint8)
    records[:, 0] = np.arange(n) % 10
    (root / name).write_bytes(records.tobytes())
    return root / name


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def write_images(root, n=3, size=(4, 4)):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", size, (40 * i, 100, 200)).save(root / f"{i}.png")
    return root / "0.png"


def load(name, root):
    return open_dataset(registry().dataset(name), root=root)


def read_whole_checkpoint(path):
    """Everything a resumed run reads: the metadata, the model's weights and the optimizers' state."""
    checkpoint = read_checkpoint(path)
    model = load_model(checkpoint, registry())
    if model.kind == "trained":
        restore_optimizers(checkpoint, model.configure_optimizers())
    return model


# -- checkpoint corpus ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("valid") / CKPT
    write_checkpoint(path)
    with safe_open(str(path), framework="pt") as f:
        raw = dict(f.metadata())
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    return path.read_bytes(), raw, tensors


def meta_json(key, change, replace=False):
    """A case editing the decoded JSON of metadata key `key` in place (or replacing it by change's result)."""
    def edit(raw, tensors):
        value = json.loads(raw[key])
        result = change(value)
        raw[key] = json.dumps(result if replace else value)
    return edit


def meta_raw(**changes):
    def edit(raw, tensors):
        for key, value in changes.items():
            if value is None:
                del raw[key]
            else:
                raw[key] = value
    return edit


def tensor_edit(change):
    def edit(raw, tensors):
        change(tensors)
    return edit


def replace_bytes(make):
    return ("bytes", make)


def optimizer_edit(change):
    return meta_json("optimizers", lambda opts: change(opts["generator"]))


def spec_huge(spec):
    spec["shape"] = [10**9]


def pickled(_):
    return pickle.dumps({"model": [1, 2, 3]})


def plain_safetensors(_):
    buffer = io.BytesIO()
    from safetensors.torch import save
    buffer.write(save({"x": torch.zeros(2)}))
    return buffer.getvalue()


CHECKPOINT_CASES = {
    # the file itself
    "truncated": (replace_bytes(lambda b: b[: len(b) // 2]), "not a readable safetensors file"),
    "empty": (replace_bytes(lambda b: b""), "not a readable safetensors file"),
    "header-only": (replace_bytes(lambda b: b[:8 + struct.unpack("<Q", b[:8])[0]]), "not a readable safetensors"),
    "pickle": (replace_bytes(pickled), "not a readable safetensors file"),
    "random-bytes": (replace_bytes(lambda b: bytes(random.Random(0).randrange(256) for _ in range(300))),
                     "not a readable safetensors file"),
    "foreign-safetensors": (replace_bytes(plain_safetensors), "not a gan-zoo checkpoint"),
    "wrong-format": (meta_raw(format="gan-zoo-checkpoint/9"), "not a gan-zoo checkpoint"),
    # top-level metadata
    "no-spec": (meta_raw(spec=None), "metadata: no 'spec'"),
    "no-family": (meta_raw(family=None), "metadata: no 'family'"),
    "empty-family": (meta_raw(family=""), "empty family name"),
    "no-seed": (meta_raw(seed=None), "no 'seed'"),
    "seed-not-int": (meta_raw(seed="1.5"), "seed is '1.5', not a whole number"),
    "negative-step": (meta_raw(step="-1"), "step is -1, below 0"),
    "step-not-int": (meta_raw(step="two"), "step is 'two'"),
    "step-beyond-total": (meta_raw(step="5"), "step 5 is beyond the run's total_steps 2"),
    "negative-total": (meta_raw(total_steps="-2"), "total_steps is -2"),
    "seconds-text": (meta_raw(seconds="fast"), "seconds is 'fast', not a finite number"),
    "seconds-nan": (meta_raw(seconds="nan"), "seconds is 'nan', not a finite number"),
    "seconds-inf": (meta_raw(seconds="inf"), "seconds is 'inf'"),
    "seconds-negative": (meta_raw(seconds="-1.5"), "seconds is -1.5, below 0"),
    "config-bad-json": (meta_raw(config="{width: 4"), "config is not valid JSON"),
    "facts-nan": (meta_raw(facts='{"support": NaN}'), r"facts is not valid JSON \(non-finite number NaN\)"),
    "facts-overflow": (meta_raw(facts='{"support": 1e999}'), "facts is not valid JSON"),
    "facts-deep": (meta_raw(facts="[" * 100000 + "]" * 100000), "facts is not valid JSON"),
    "facts-list": (meta_raw(facts="[1, 2]"), "facts is a JSON list, not an object"),
    "config-list": (meta_json("config", lambda c: list(c.items()), replace=True), "config is a JSON list, not an"),
    "dataset-list": (meta_json("dataset", lambda d: [d], replace=True), "dataset is a JSON list"),
    "dataset-no-name": (meta_json("dataset", lambda d: d.pop("name")), "dataset has no 'name'"),
    "dataset-bad-split-seed": (meta_json("dataset", lambda d: d.update(split_seed="0")), "dataset.split_seed"),
    "dataset-negative-count": (meta_json("dataset", lambda d: d.update(n_train=-1)), "dataset.n_train"),
    "plugin-string": (meta_raw(plugin='"vanilla"'), "plugin is a JSON str"),
    "plugin-no-distribution": (meta_json("plugin", lambda p: p.pop("distribution")), "plugin has no 'distri"),
    # spec
    "spec-no-shape": (meta_json("spec", lambda s: s.pop("shape")), "spec has no 'shape'"),
    "spec-shape-zero": (meta_json("spec", lambda s: s.update(shape=[0])), r"spec.shape is \[0\]"),
    "spec-shape-2d": (meta_json("spec", lambda s: s.update(shape=[2, 2])), "spec.shape"),
    "spec-shape-text": (meta_json("spec", lambda s: s.update(shape="2")), "spec.shape is '2'"),
    "spec-shape-float": (meta_json("spec", lambda s: s.update(shape=[2.0])), "spec.shape"),
    "spec-latent-bool": (meta_json("spec", lambda s: s.update(latent_dim=True)), "spec.latent_dim is True"),
    "spec-unknown-key": (meta_json("spec", lambda s: s.update(colour=1)), "spec has an unknown key 'colour'"),
    "spec-num-classes-text": (meta_json("spec", lambda s: s.update(num_classes="ten")), "spec.num_classes"),
    "spec-bounded-int": (meta_json("spec", lambda s: s.update(bounded=1)), "spec.bounded is 1"),
    "spec-huge": (meta_json("spec", spec_huge), "has shape"),  # refused on the meta device: nothing allocated
    # config, against the family's Config field types
    "config-width-text": (meta_json("config", lambda c: c.update(width="wide")),
                          "config width='wide' is not a whole number"),
    "config-width-bool": (meta_json("config", lambda c: c.update(width=True)), "config width=True is not a whole"),
    "config-width-float": (meta_json("config", lambda c: c.update(width=4.0)), "config width=4.0 is not a whole"),
    "config-lr-text": (meta_json("config", lambda c: c.update(lr="0.001")), "config lr='0.001' is not a finite"),
    "config-lr-null": (meta_json("config", lambda c: c.update(lr=None)), "config lr=None"),
    "config-loss-number": (meta_json("config", lambda c: c.update(loss=1)), "config loss=1 is not a string"),
    "config-unknown-key": (meta_json("config", lambda c: c.update(widht=4)), "config has a key 'widht'"),
    "config-width-negative": (meta_json("config", lambda c: c.update(width=-3)), "width = -3: must be a whole"),
    "config-width-huge": (meta_json("config", lambda c: c.update(width=10**12)), "width = 1000000000000: must be"),
    "config-family-refuses": (meta_json("config", lambda c: c.update(loss="hinge")), "loss must be one of"),
    "config-wider": (meta_json("config", lambda c: c.update(width=9)), "has shape"),
    # families that are not installed
    "family-not-installed": (meta_raw(family="lsgan", plugin=json.dumps(
        {"name": "lsgan", "distribution": "gan-zoo-lsgan", "version": "0.1.0"})),
        r"family 'lsgan' is not installed; it came from plugin lsgan \(gan-zoo-lsgan 0\.1\.0\): "
        r"pip install gan-zoo-lsgan$"),
    "family-misspelt": (meta_raw(family="vanila"), "did you mean 'vanilla'"),
    "family-newer-plugin": (meta_raw(family="lsgan", plugin=json.dumps(
        {"name": "vanilla", "distribution": "gan-zoo", "version": "99.0"})), r"pip install 'gan-zoo==99\.0'"),
    "family-odd-distribution": (meta_raw(family="lsgan", plugin=json.dumps(
        {"name": "x", "distribution": "evil; rm -rf /\n", "version": "1"})), "install it$"),
    # tensors
    "tensor-shape": (tensor_edit(lambda t: t.update({"model.generator.0.weight": torch.zeros(3, 2)})),
                     r"has shape \(3, 2\) in the file but \(4, 2\)"),
    "tensor-missing": (tensor_edit(lambda t: t.pop("model.generator.0.bias")), "is only in the model"),
    "tensor-extra": (tensor_edit(lambda t: t.update({"model.extra": torch.zeros(1)})), "is only in the file"),
    "tensor-nan": (tensor_edit(lambda t: t["model.generator.0.bias"].__setitem__(0, float("nan"))),
                   "holds NaN or infinite values"),
    "tensor-inf-optimizer": (tensor_edit(lambda t: t["optim.generator.0.exp_avg"].fill_(float("inf"))),
                             "holds NaN or infinite values"),
    "tensor-dtype": (tensor_edit(lambda t: t.update({"model.generator.0.bias": t["model.generator.0.bias"].double()})),
                     "is torch.float64 in the file"),
    # optimizer state (restore_optimizers)
    "optimizers-list": (meta_raw(optimizers="[]"), "optimizers is a JSON list"),
    "optimizer-missing": (meta_json("optimizers", lambda o: o.pop("generator")), "no state for optimizer"),
    "optimizer-not-object": (meta_json("optimizers", lambda o: o.update(generator=[1])), "optimizers.generator is"),
    "optimizer-no-groups": (optimizer_edit(lambda g: g.pop("param_groups")), "has no 'param_groups'"),
    "optimizer-groups-not-list": (optimizer_edit(lambda g: g.update(param_groups={})), "param_groups is"),
    "optimizer-two-groups": (optimizer_edit(lambda g: g["param_groups"].append(dict(g["param_groups"][0]))),
                             "has 2 parameter groups, not 1"),
    "optimizer-params-text": (optimizer_edit(lambda g: g["param_groups"][0].update(params="0123")),
                              "does not list its 4 parameters"),
    "optimizer-params-short": (optimizer_edit(lambda g: g["param_groups"][0]["params"].pop()),
                               "does not list its 4 parameters"),
    "optimizer-lr-text": (optimizer_edit(lambda g: g["param_groups"][0].update(lr="fast")), "setting 'lr' is"),
    "optimizer-betas-short": (optimizer_edit(lambda g: g["param_groups"][0].update(betas=[0.5])), "'betas' is"),
    "optimizer-scalar-key": (optimizer_edit(lambda g: g["scalars"].update({"x.step": 1})), "state 'x.step'"),
    "optimizer-scalar-value": (optimizer_edit(lambda g: g["scalars"].update({"0.step": "one"})), "is 'one'"),
    "optimizer-state-shape": (tensor_edit(lambda t: t.update({"optim.generator.0.exp_avg": torch.zeros(3)})),
                              r"has shape \(3,\) but its parameter \(4, 2\)"),
    "optimizer-state-orphan": (tensor_edit(lambda t: t.update({"optim.generator.9.exp_avg": torch.zeros(1)})),
                               "is state for no parameter"),
    "optimizer-negative-step": (tensor_edit(lambda t: t["optim.generator.0.step"].fill_(-3)), "is negative"),
    "optimizer-negative-sq": (tensor_edit(lambda t: t["optim.generator.1.exp_avg_sq"].fill_(-1)), "is negative"),
}


def file_hashes(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


TMP_STAND_IN = "/tmp/pytest-of-user/pytest-0/case0"  # tmp_path's length varies with the machine and test name


def assert_user_error(read, named, match, tmp_path):
    """read() raises a one-line UserError naming `named`, under 200 characters (with tmp_path as a typical
    temporary folder), and changes no file."""
    before = file_hashes(named.parent if named.is_file() else named)
    with pytest.raises(UserError) as caught:
        read()
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    assert str(named) in message, message
    assert len(message.replace(str(tmp_path), TMP_STAND_IN)) < 200, message
    assert re.search(match, message), message
    assert file_hashes(named.parent if named.is_file() else named) == before
    return message


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_bad_checkpoint(case, valid_checkpoint, tmp_path):
    data, raw, tensors = valid_checkpoint
    edit, match = CHECKPOINT_CASES[case]
    path = tmp_path / CKPT
    if isinstance(edit, tuple):
        path.write_bytes(edit[1](data))
    else:
        raw, tensors = dict(raw), {key: value.clone() for key, value in tensors.items()}
        edit(raw, tensors)
        save_file(tensors, path, metadata=raw)
    assert_user_error(lambda: read_whole_checkpoint(path), path, match, tmp_path)


def test_checkpoint_that_is_a_folder_or_unreadable(tmp_path, valid_checkpoint):
    (tmp_path / "dir.safetensors").mkdir()
    with pytest.raises(UserError, match="no such checkpoint file"):
        read_checkpoint(tmp_path / "dir.safetensors")
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = tmp_path / CKPT
    path.write_bytes(valid_checkpoint[0])
    path.chmod(0)
    assert_user_error(lambda: read_checkpoint(path), path, "cannot read this checkpoint.*permissions", tmp_path)


def test_valid_checkpoint_round_trips(valid_checkpoint, tmp_path):
    path = tmp_path / CKPT
    path.write_bytes(valid_checkpoint[0])
    model = read_whole_checkpoint(path)
    checkpoint = read_checkpoint(path)
    assert checkpoint.step == 1 and checkpoint.metadata["seconds"] == 0.5 and checkpoint.metadata["facts"] == {}
    assert torch.equal(model.state_dict()["generator.0.weight"], valid_checkpoint[2]["model.generator.0.weight"])


def test_optimizer_state_is_restored_exactly(tmp_path):
    path = tmp_path / CKPT
    model = write_checkpoint(path)
    restored = read_whole_checkpoint(path)
    optimizers = restored.configure_optimizers()
    restore_optimizers(read_checkpoint(path), optimizers)
    state = optimizers["generator"].state_dict()["state"]
    assert set(state) == {0, 1, 2, 3} and float(state[0]["step"]) == 1
    assert torch.equal(restored.state_dict()["generator.0.weight"], model.state_dict()["generator.0.weight"])


# -- data set corpus ------------------------------------------------------------------------------------------

DATA_CASES = {}


def data_case(name, dataset, match):
    """Register fn(root) -> the file or folder the message must name; fn builds and damages the files."""
    def register(fn):
        DATA_CASES[name] = (dataset, fn, match)
        return fn
    return register


def edit_idx(path, change):
    """Rewrite an IDX file's (decompressed) bytes, keeping its compression."""
    gz = path.suffix == ".gz"
    payload = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    payload = change(payload)
    path.write_bytes(gzip.compress(payload, mtime=0) if gz else payload)
    return path


def idx_case(name, match):
    """One case for raw IDX files and one for gzipped ones."""
    def register(fn):
        for gz in (False, True):
            data_case(f"idx{'.gz' if gz else ''}-{name}", "mnist", match)(lambda root, gz=gz: fn(root, gz))
        return fn
    return register


def header(dims, *sizes):
    return b"\x00\x00\x08" + bytes([dims]) + struct.pack(f">{len(sizes)}I", *sizes)


@idx_case("empty", "not an IDX file of unsigned bytes with 3 dimensions")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: b"")


@idx_case("magic-only", r"header is cut short \(4 of 16 bytes\)")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: b[:4])


@idx_case("header-cut-short", r"header is cut short \(11 of 16 bytes\)")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: b[:11])


@idx_case("float-idx", "not an IDX file of unsigned bytes")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: b"\x00\x00\x0d" + b[3:])


@idx_case("absurd-sizes", r"holds 150 data bytes but its header says \(2147483647, 65535, 65535\)")
def _(root, gz):  # 2**31 - 1 items of 65535 x 65535: refused from the bytes present, nothing allocated
    return edit_idx(write_idx(root, gz)[0], lambda b: header(3, 2**31 - 1, 65535, 65535) + b[16:])


@idx_case("too-many-items", r"claims 4294967295 items \(at most 2147483648\)")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: header(3, 2**32 - 1, 5, 5) + b[16:])


@idx_case("zero-items", "says it holds no items")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: header(3, 0, 5, 5))


@idx_case("zero-width", "says the items are 5x0")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: header(3, 6, 5, 0))


@idx_case("truncated-data", r"holds 149 data bytes but its header says \(6, 5, 5\)")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: b[:-1])


@idx_case("extra-data", r"holds 151\+? data bytes")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[0], lambda b: b + b"\x00")


@idx_case("label-above-9", "label 12 at item 3, but MNIST labels are 0..9")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[1], lambda b: b[:8 + 3] + b"\x0c" + b[8 + 4:])


@idx_case("labels-are-images", "not an IDX file of unsigned bytes with 1 dimensions")
def _(root, gz):
    images, labels = write_idx(root, gz)
    labels.write_bytes(images.read_bytes())
    return labels


@idx_case("count-mismatch", "has 6 images but .* has 5 labels")
def _(root, gz):
    return edit_idx(write_idx(root, gz)[1], lambda b: header(1, 5) + b[8:-1])


@idx_case("labels-folder", "a folder, but .* belongs here; remove or rename it")
def _(root, gz):
    labels = write_idx(root, gz)[1]
    labels.unlink()
    labels.mkdir()
    return labels


@data_case("idx-no-images", "mnist", r"no file train-images-idx3-ubyte\[\.gz\]")
def _(root):
    write_idx(root)[0].unlink()
    return root


@data_case("idx-t10k-without-labels", "mnist", r"no file t10k-labels-idx1-ubyte\[\.gz\]")
def _(root):
    images = write_idx(root)[0]
    (root / "t10k-images-idx3-ubyte").write_bytes(images.read_bytes())
    return root


@data_case("idx.gz-truncated", "mnist", "a damaged or truncated gzip file")
def _(root):
    images = write_idx(root, gz=True)[0]
    images.write_bytes(images.read_bytes()[:-12])
    return images


@data_case("idx.gz-corrupt-stream", "mnist", "a damaged or truncated gzip file")
def _(root):
    images = write_idx(root, gz=True)[0]
    payload = bytearray(images.read_bytes())
    payload[10:20] = b"\xff" * 10  # the deflate stream starts after the 10-byte gzip header
    images.write_bytes(bytes(payload))
    return images


@data_case("idx.gz-bad-crc", "mnist", "a damaged or truncated gzip file .*CRC")
def _(root):
    images = write_idx(root, gz=True)[0]
    payload = bytearray(images.read_bytes())
    payload[-8] ^= 0xFF
    images.write_bytes(bytes(payload))
    return images


@data_case("idx.gz-trailing-garbage", "mnist", "a damaged or truncated gzip file")
def _(root):
    images = write_idx(root, gz=True)[0]
    images.write_bytes(images.read_bytes() + b"garbage!")
    return images


@data_case("idx.gz-not-gzipped", "mnist", r"a damaged or truncated gzip file \(Not a gzipped file")
def _(root):
    images = write_idx(root, gz=True)[0]
    images.write_bytes(gzip.decompress(images.read_bytes()))
    return images


@data_case("idx-gzipped-without-suffix", "mnist", r"gzipped file without the \.gz suffix; rename it")
def _(root):
    images = write_idx(root)[0]
    images.write_bytes(gzip.compress(images.read_bytes()))
    return images


@data_case("idx-unreadable", "mnist", "unreadable .*Permission denied")
def _(root):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    images = write_idx(root)[0]
    images.chmod(0)
    return images


@data_case("cifar-empty", "cifar10", "an empty file")
def _(root):
    path = write_cifar(root)
    path.write_bytes(b"")
    return path


@data_case("cifar-not-whole-records", "cifar10", "9218 bytes is not a whole number of 3073-byte records")
def _(root):
    path = write_cifar(root)
    path.write_bytes(path.read_bytes()[:-1])
    return path


@data_case("cifar-label-above-9", "cifar10", "label byte 200 in record 1")
def _(root):
    path = write_cifar(root)
    payload = bytearray(path.read_bytes())
    payload[3073] = 200
    path.write_bytes(bytes(payload))
    return path


@data_case("cifar-second-file-bad", "cifar10", "test_batch.bin: 5 bytes")
def _(root):
    write_cifar(root)
    (root / "test_batch.bin").write_bytes(b"12345")
    return root / "test_batch.bin"


@data_case("cifar-folder-named-like-a-batch", "cifar10", "a folder, but .* belongs here; remove or rename it")
def _(root):
    root.mkdir()
    (root / "data_batch_1.bin").mkdir()
    return root / "data_batch_1.bin"


@data_case("cifar-pickled-only", "cifar10", "pickled python version, which is never unpickled")
def _(root):
    root.mkdir()
    (root / "data_batch_1").write_bytes(pickle.dumps({"data": [1]}))
    return root


@data_case("cifar-unreadable", "cifar10", "unreadable .*Permission denied")
def _(root):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = write_cifar(root)
    path.chmod(0)
    return path


@data_case("images-empty-folder", "image-folder", r"no \.png, \.jpg or \.jpeg files \(it is empty\)")
def _(root):
    root.mkdir()
    return root


@data_case("images-none-among-files", "image-folder", r"found 2 other files, e\.g\. 'a\.txt'")
def _(root):
    root.mkdir()
    (root / "a.txt").write_text("notes")
    (root / "b.gif").write_bytes(b"GIF89a")
    return root


@data_case("images-root-is-a-file", "image-folder", "no such folder")
def _(root):
    root.write_text("a file")
    return root


@data_case("images-truncated-png", "image-folder", "not a readable PNG or JPEG image.*truncated")
def _(root):  # cut inside the pixel data (a cut after it, in the last CRC or IEND, loses nothing and is read)
    path = write_images(root)
    path.write_bytes(path.read_bytes()[:45])
    return path


@data_case("images-png-cut-in-data", "image-folder", "not a readable PNG or JPEG image")
def _(root):  # a PNG whose header is intact: Pillow opens it, and fails only when decoding
    path = write_images(root)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (4, 4, 3), dtype=np.uint8))
    payload = png_bytes(image)
    idat = payload.index(b"IDAT")
    path.write_bytes(payload[: idat + 12])
    return path


@data_case("images-bad-header-crc", "image-folder", "not a readable PNG or JPEG image")
def _(root):
    path = write_images(root)
    payload = bytearray(path.read_bytes())
    payload[29] ^= 0xFF  # the IHDR chunk's CRC
    path.write_bytes(bytes(payload))
    return path


@data_case("images-text-named-png", "image-folder", r"not a readable PNG or JPEG image \(another format")
def _(root):
    path = write_images(root)
    path.write_text("not a png")
    return path


@data_case("images-gif-named-png", "image-folder", r"not a readable PNG or JPEG image \(another format")
def _(root):
    path = write_images(root)
    Image.new("P", (4, 4)).save(path, "GIF")
    return path


@data_case("images-mixed-sizes", "image-folder", "5x4 pixels, but .* is 4x4; resize")
def _(root):
    write_images(root)
    Image.new("RGB", (5, 4)).save(root / "9.png")
    return root / "9.png"


@data_case("images-huge", "image-folder", "5000x5000 pixels .*resize")
def _(root):  # refused from the header, before 75 MB of pixels are decoded
    root.mkdir()
    Image.new("L", (5000, 5000)).save(root / "0.png")
    return root / "0.png"


@data_case("images-with-and-without-labels", "image-folder", "both in the folder itself and in subfolders")
def _(root):
    write_images(root)
    write_images(root / "cats")
    return root


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_files(case, tmp_path):
    dataset, build, match = DATA_CASES[case]
    root = tmp_path / "data"
    named = build(root)
    try:
        assert_user_error(lambda: load(dataset, root), named, match, tmp_path)
    finally:
        for path in tmp_path.rglob("*"):
            path.chmod(0o700)  # let pytest clean up the permission cases


def test_valid_small_files_load(tmp_path):
    write_idx(tmp_path / "raw")
    write_idx(tmp_path / "gz", gz=True)
    write_cifar(tmp_path / "cifar")
    write_images(tmp_path / "images")
    assert load("mnist", tmp_path / "raw").spec.shape == (1, 5, 5) == load("mnist", tmp_path / "gz").spec.shape
    assert load("cifar10", tmp_path / "cifar").spec.shape == (3, 32, 32)
    assert load("image-folder", tmp_path / "images").spec.shape == (3, 4, 4)


# -- fuzz -----------------------------------------------------------------------------------------------------

FUZZ_CASES = 200


def mutations(rng: random.Random, payload: bytes, hot: int | None, cases: int):
    """Truncations at random lengths, then random byte flips (half of them within the first `hot` bytes)."""
    for i in range(cases):
        if i < cases // 2:
            cut = rng.randrange(len(payload))
            yield f"cut at {cut}", payload[:cut]
        else:
            damaged = bytearray(payload)
            flips = []
            for _ in range(rng.randint(1, 3)):
                limit = hot if hot and rng.random() < 0.5 else len(payload)
                position = rng.randrange(min(limit, len(payload)))
                damaged[position] ^= rng.randrange(1, 256)
                flips.append(position)
            yield f"flips at {flips}", bytes(damaged)


def fuzz(payload, write, read, check, named, hot=None, seed=0, cases=FUZZ_CASES):
    """Each mutation either reads (and passes check) or raises a one-line UserError naming `named`."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    failures, refused = [], 0
    for description, damaged in mutations(rng, payload, hot, cases):
        write(damaged)
        try:
            check(read())
        except UserError as exc:
            refused += 1
            message = str(exc)
            if "\n" in message or str(named) not in message:
                failures.append(f"{description}: message {message!r}")
        except Exception as exc:  # noqa: BLE001 - the point of the test
            failures.append(f"{description}: {type(exc).__name__}: {exc}"[:300])
    assert not failures, "\n".join(failures[:10])
    return refused


def test_fuzz_checkpoint(tmp_path):
    path = tmp_path / CKPT
    reference = write_checkpoint(path).state_dict()
    payload = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", payload[:8])[0]

    def check(model):
        for key, tensor in model.state_dict().items():
            assert tensor.shape == reference[key].shape and bool(torch.isfinite(tensor).all()), key

    refused = fuzz(payload, path.write_bytes, lambda: read_whole_checkpoint(path), check, path, hot=header_end)
    assert refused >= FUZZ_CASES // 2  # every truncation is refused


@pytest.mark.parametrize("gz", [False, True])
def test_fuzz_idx(tmp_path, gz):
    root = tmp_path / "mnist"
    files = write_idx(root, gz=gz)
    valid = {path: path.read_bytes() for path in files}

    def check(data):
        x = torch.cat([data.train.x, data.heldout.x])
        labels = torch.cat([data.train.labels, data.heldout.labels])
        assert x.shape == (6, 1, 5, 5) and bool(torch.isfinite(x).all()) and x.abs().max() <= 1
        assert labels.shape == (6,) and 0 <= labels.min() and labels.max() <= 9

    for index, path in enumerate(files):  # half the cases damage the images, half the labels
        def write(damaged, path=path):
            for other, payload in valid.items():
                other.write_bytes(payload)
            path.write_bytes(damaged)
        fuzz(valid[path], write, lambda: load("mnist", root), check, root, hot=None if gz else 16, seed=index,
             cases=FUZZ_CASES // 2)


def test_fuzz_cifar(tmp_path):
    root = tmp_path / "cifar"
    path = write_cifar(root)

    def check(data):
        x = torch.cat([data.train.x, data.heldout.x])
        assert x.shape[1:] == (3, 32, 32) and 1 <= len(x) <= 3 and bool(torch.isfinite(x).all())
        assert torch.cat([data.train.labels, data.heldout.labels]).max() <= 9

    fuzz(path.read_bytes(), path.write_bytes, lambda: load("cifar10", root), check, root, hot=3073 * 3)


def test_fuzz_png_and_jpeg(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "a.png")
    Image.fromarray(pixels[:, :, 0]).save(root / "b.png")
    Image.fromarray(pixels).save(root / "c.jpg", quality=90)

    def check(data):
        x = torch.cat([data.train.x, data.heldout.x])
        assert x.shape == (3, 3, 6, 6) and bool(torch.isfinite(x).all()) and x.abs().max() <= 1

    for seed, name in enumerate(("a.png", "c.jpg")):  # 200 cases in all
        path = root / name
        valid = path.read_bytes()

        def write(damaged, path=path, valid=valid):
            path.write_bytes(damaged)

        fuzz(valid, write, lambda: load("image-folder", root), check, root, hot=60, seed=seed,
             cases=FUZZ_CASES // 2)
        path.write_bytes(valid)


# -- the command line: inputs never written over, what cannot be judged refused (issue 21) ------------------------

def write_vectors(path, array=None):
    np.save(path, np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32) if array is None else array)
    return path


def write_npy_header(path, shape, data=b"\0" * 16):
    """An .npy whose header declares `shape` of float32 over `data`: nothing of that size is ever allocated."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    path.write_bytes(header.getvalue() + data)
    return path


def write_bomb_folder(root):
    """A PNG a few kilobytes long whose header declares 20000 x 20000 pixels."""
    root.mkdir()
    Image.new("1", (20000, 20000)).save(root / "0.png")
    return root


def write_folder(root, n):
    root.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (25 * i, 0, 0)).save(root / f"{i}.png")
    return root


CLI_CASES = {}


def cli_case(name, match, code=2):
    """A case: build(tmp) writes the files and returns the command line; `match` is the one line expected."""
    def register(build):
        CLI_CASES[name] = (build, match, code)
        return build
    return register


@cli_case("eval-json-over-checkpoint", "--json .*model.safetensors is an input of this command; inputs are never "
                                       "written over: choose another path")
def _(tmp):
    write_checkpoint(tmp / CKPT)
    return ["eval", tmp / CKPT, "--json", tmp / CKPT, "--force"]


@cli_case("eval-montage-over-checkpoint", "--montage .*model.safetensors is an input of this command")
def _(tmp):
    write_checkpoint(tmp / CKPT)
    return ["eval", tmp / CKPT, "--json", tmp / "out.json", "--montage", tmp / CKPT, "--force"]


@cli_case("eval-json-over-the-array-judged", "--json .*x.npy is an input of this command")
def _(tmp):
    return ["eval", write_vectors(tmp / "x.npy"), "--dataset", "ring8", "--json", tmp / "x.npy", "--force"]


@cli_case("eval-json-over-a-hard-link-to-the-array", "--json .*link.npy is .*x.npy, an input")
def _(tmp):
    os.link(write_vectors(tmp / "x.npy"), tmp / "link.npy")
    return ["eval", tmp / "x.npy", "--dataset", "ring8", "--json", tmp / "link.npy", "--force"]


@cli_case("eval-json-over-a-symlink-to-the-checkpoint", "--json .*link.json is .*model.safetensors, an input")
def _(tmp):
    write_checkpoint(tmp / CKPT)
    (tmp / "link.json").symlink_to(tmp / CKPT)
    return ["eval", tmp / CKPT, "--json", tmp / "link.json", "--force"]


@cli_case("eval-montage-into-the-folder-judged", "--montage .* is inside .*images, an input of this command")
def _(tmp):
    write_folder(tmp / "images", 3)
    return ["eval", tmp / "images", "--dataset", "image-folder", "--data-root", tmp / "images", "--montage",
            tmp / "images" / "m.png"]


@cli_case("sample-over-a-symlink-to-the-checkpoint", "--out .*s.safetensors is .*model.safetensors, an input")
def _(tmp):
    write_checkpoint(tmp / CKPT)
    (tmp / "s.safetensors").symlink_to(tmp / CKPT)
    return ["sample", tmp / CKPT, "--out", tmp / "s.safetensors", "--force"]


@cli_case("eval-montage-over-an-image-of-the-data", "--montage .*cats/0.png is an input")
def _(tmp):
    write_folder(tmp / "images" / "cats", 3)
    write_folder(tmp / "images" / "dogs", 3)
    return ["eval", "memorizer", "--dataset", "image-folder", "--data-root", tmp / "images", "--montage",
            tmp / "images" / "cats" / "0.png", "--force"]


@cli_case("eval-json-over-a-data-file", "--json .*train-images-idx3-ubyte is an input of this command")
def _(tmp):
    write_idx(tmp / "mnist")
    return ["eval", "memorizer", "--dataset", "mnist", "--data-root", tmp / "mnist", "--json",
            tmp / "mnist" / IMAGES, "--force"]


@cli_case("bench-into-a-source-folder", "--out .*run is inside .*images, an input of this command")
def _(tmp):
    write_folder(tmp / "images", 3)
    (tmp / "suite.toml").write_text('[suite]\ndatasets = ["digits"]\n\n[[source]]\nsource = "images"\n')
    return ["bench", tmp / "suite.toml", "--out", tmp / "images" / "run"]


@cli_case("npy-complex", "x.npy: an array of complex numbers, which cannot be judged as samples; give real-valued")
def _(tmp):
    return ["eval", write_vectors(tmp / "x.npy", np.ones((50, 2), np.complex64) * 1j), "--dataset", "ring8"]


@cli_case("npy-boolean", "x.npy: an array of booleans, which cannot be judged")
def _(tmp):
    return ["eval", write_vectors(tmp / "x.npy", np.ones((50, 2), bool)), "--dataset", "ring8"]


@cli_case("npz-boolean", "x.npz: an array of booleans, which cannot be judged")
def _(tmp):
    np.savez(tmp / "x.npz", samples=np.ones((50, 2), bool))
    return ["eval", tmp / "x.npz", "--dataset", "ring8"]


@cli_case("safetensors-boolean", "x.safetensors: an array of booleans, which cannot be judged")
def _(tmp):
    save_file({"samples": torch.ones(50, 2, dtype=torch.bool)}, str(tmp / "x.safetensors"))
    return ["eval", tmp / "x.safetensors", "--dataset", "ring8"]


@cli_case("safetensors-complex", "x.safetensors: an array of complex numbers")
def _(tmp):
    save_file({"samples": torch.ones(50, 2, dtype=torch.complex64)}, str(tmp / "x.safetensors"))
    return ["eval", tmp / "x.safetensors", "--dataset", "ring8"]


@cli_case("npy-0-d", r"x.npy: a single number \(a 0-d array\), not a set of items; give an array of shape \(N")
def _(tmp):
    return ["eval", write_vectors(tmp / "x.npy", np.float32(1.0)), "--dataset", "ring8"]


@cli_case("npy-header-declares-terabytes", r"x.npy: its header declares \(100000, 100000, 600\) float32 "
                                            r"\(24000000000000 bytes\) over 16 bytes; damaged or cut short")
def _(tmp):
    return ["eval", write_npy_header(tmp / "x.npy", (100000, 100000, 600)), "--dataset", "ring8"]


@cli_case("npy-header-declares-more-than-present", r"x.npy: its header declares \(50, 2\) .* over 16 bytes")
def _(tmp):
    return ["eval", write_npy_header(tmp / "x.npy", (50, 2)), "--dataset", "ring8"]


@cli_case("npz-header-declares-terabytes", r"x.npz \(array 'samples'\): its header declares \(100000, 100000")
def _(tmp):
    write_npy_header(tmp / "samples.npy", (100000, 100000, 600))
    with zipfile.ZipFile(tmp / "x.npz", "w") as archive:
        archive.write(tmp / "samples.npy", "samples.npy")
    (tmp / "samples.npy").unlink()
    return ["eval", tmp / "x.npz", "--dataset", "ring8"]


@cli_case("range-on-vector-data", "x.npy: the data set holds vectors; a value range and resizing apply to images read")
def _(tmp):
    return ["eval", write_vectors(tmp / "x.npy"), "--dataset", "ring8", "--range", "0,1"]


@cli_case("resize-on-vector-data", "x.npy: the data set holds vectors; a value range and resizing apply to images read")
def _(tmp):
    return ["eval", write_vectors(tmp / "x.npy"), "--dataset", "ring8", "--resize"]


@cli_case("range-on-a-checkpoint", r"model.safetensors \(a checkpoint\) draws its own items: a value range and "
                                   "resizing apply to images read from folders, files or callables")
def _(tmp):
    write_checkpoint(tmp / CKPT)
    return ["eval", tmp / CKPT, "--range", "0,1"]


@cli_case("resize-on-a-checkpoint", r"model.safetensors \(a checkpoint\) draws its own items: ")
def _(tmp):
    write_checkpoint(tmp / CKPT)
    return ["eval", tmp / CKPT, "--resize"]


@cli_case("resize-on-a-family", r"memorizer \(a family\) draws its own items: ")
def _(tmp):
    return ["eval", "memorizer", "--dataset", "digits", "--resize"]


@cli_case("decompression-bomb-in-samples", r"0.png: its header declares over \d+ pixels \(a decompression bomb\?\), "
                                           r"at most 16777216 are read; resize the images")
def _(tmp):
    return ["eval", write_bomb_folder(tmp / "bomb"), "--dataset", "digits"]


@cli_case("decompression-bomb-in-data", r"0.png: its header declares over \d+ pixels \(a decompression bomb\?\)")
def _(tmp):
    return ["eval", "memorizer", "--dataset", "image-folder", "--data-root", write_bomb_folder(tmp / "bomb")]


@cli_case("callable-calls-sys-exit", r"refused, .*gen.py:sample\(2500, 0\) called sys.exit\(3\); return the "
                                     "samples instead", code=1)
def _(tmp):
    (tmp / "gen.py").write_text("import sys\n\n\ndef sample(n, seed):\n    sys.exit(3)\n")
    return ["eval", f"{tmp / 'gen.py'}:sample", "--dataset", "ring8", "--metrics", "modes"]


@cli_case("callable-exits-at-import", r"gen.py:sample: importing .*gen.py called sys.exit\('no'\); run its script "
                                      "code only under if __name__ == '__main__'")
def _(tmp):
    (tmp / "gen.py").write_text("raise SystemExit('no')\n")
    return ["eval", f"{tmp / 'gen.py'}:sample", "--dataset", "ring8"]


@cli_case("birthday-with-one-held-out-item", "refused, birthday test: needs at least 2 held-out items to calibrate "
                                             "its threshold, image-folder has 1; give a data set of at least 10",
          code=1)
def _(tmp):
    return ["eval", write_folder(tmp / "images", 5), "--dataset", "image-folder", "--data-root", tmp / "images",
            "--metrics", "birthday"]


@cli_case("one-image-folder", r"data set image-folder \(.*images\): holds 1 item\(s\), too few to split into "
                              "training and held-out items; give it at least 2")
def _(tmp):
    return ["eval", "memorizer", "--dataset", "image-folder", "--data-root", write_folder(tmp / "images", 1),
            "--set", "m=1"]


@cli_case("missing-checkpoint-without-dataset", "nope/model.safetensors: no such file or folder$")
def _(tmp):
    return ["eval", tmp / "nope" / CKPT]


@cli_case("missing-callable-file-without-dataset", "nope.py:sample: no such file .*nope.py$")
def _(tmp):
    return ["eval", f"{tmp / 'nope.py'}:sample"]


def cli_outcome(args):
    from click.testing import CliRunner

    from gan_zoo.app.cli import main

    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_bad_command_lines(case, tmp_path, monkeypatch):
    """One line naming the problem and the fix, the exit code, and every file byte-identical (none added)."""
    build, match, code = CLI_CASES[case]
    monkeypatch.chdir(tmp_path)
    args = build(tmp_path)
    before = file_hashes(tmp_path)
    result = cli_outcome(args)
    lines = [line for line in result.output.splitlines() if re.search(match, line)]
    assert result.exit_code == code and len(lines) == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    if code == 2:  # refused before any work: the error is all there is
        assert result.output.strip() == lines[0] and lines[0].startswith("gan-zoo: error: "), result.output
    assert len(lines[0].replace(str(tmp_path), TMP_STAND_IN)) < 200 + len("gan-zoo: error: "), lines[0]
    assert file_hashes(tmp_path) == before


def test_cleanup_after_a_kill_removes_only_the_files_gan_zoo_left(tmp_path, monkeypatch):
    from gan_zoo.app.running import remove_stale_temporaries
    from gan_zoo.files import atomic_write_bytes

    used = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (used.append(src), real_replace(src, dst)))
    atomic_write_bytes(tmp_path / "results" / "a.json", b"{}")
    left = tmp_path / "results" / os.path.basename(used[0])
    left.write_bytes(b"{")  # what a kill between the write and the rename leaves, under the name gan-zoo used
    for name in (".notes.tmp", ".a.json.x1y2z3.tmp", "draft.tmp"):  # the user's own files
        (tmp_path / "results" / name).write_text("mine")
    before = {path: digest for path, digest in file_hashes(tmp_path).items() if path != left}
    assert remove_stale_temporaries(tmp_path) == 1
    assert not left.exists() and file_hashes(tmp_path) == before


def test_a_suite_file_named_with_spaces_and_accents_is_read(tmp_path):
    from gan_zoo.app.jobs import load_suite

    body = '[suite]\ndatasets = ["ring8"]\n\n[[family]]\nname = "memorizer"\n'
    (tmp_path / "my suité.toml").write_text(body)
    assert load_suite(str(tmp_path / "my suité.toml"), registry()).name == "my suité"
    (tmp_path / "named.toml").write_text(body.replace("\n\n", '\nname = "a b"\n\n', 1))
    with pytest.raises(UserError, match=r"named.toml line 3 \(suite, name\): name 'a b': use letters"):
        load_suite(str(tmp_path / "named.toml"), registry())


def test_allow_download_offline_fails_at_once_in_one_line(monkeypatch):
    """One connection attempt with a short timeout, no hub retries, and the file to place by hand (no network:
    the connection is refused here)."""
    import timm
    from huggingface_hub import constants

    from gan_zoo.plugins import feature_spaces

    attempts = []

    def offline(address, timeout):
        attempts.append(timeout)
        raise OSError(-2, "Name or service not known")

    monkeypatch.setattr(feature_spaces.socket, "create_connection", offline)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(timm, "create_model", lambda *a, **k: pytest.fail("timm was asked to download"))
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    data = open_dataset(registry().dataset("digits"))
    config = feature_spaces.TimmConfig(allow_download=True)
    with pytest.raises(UserError) as caught:
        feature_spaces.TimmSpace().load(data, "test_resnet", config, torch.device("cpu"))
    assert attempts == [5.0]
    assert str(caught.value) == ("feature space timm:test_resnet: cannot reach huggingface.co to download "
                                 "timm/test_resnet.r160_in1k/model.safetensors (Name or service not known); "
                                 "download it by hand and set features.timm.weights=PATH")


def test_bench_keeps_the_users_tmp_files_in_its_folder(tmp_path):
    """`bench --out DIR` removes the partial files a killed run left there, and nothing else."""
    from gan_zoo.files import TEMPORARY_SUFFIX

    suite = tmp_path / "my suite.toml"  # a name with a space, run into a folder given by --out
    suite.write_text('[suite]\ndatasets = ["ring8"]\n\n[eval]\nmetrics = ["modes"]\n\n[[family]]\nname = "memorizer"\n'
                     'set = {m = 20}\n')
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    for name in (".draft.tmp", "notes/.plan.md.abc123.tmp"):
        (out / name).write_text("mine")
    (out / "notes" / f".a.json.k2j4h5g6{TEMPORARY_SUFFIX}").write_text("{")  # what a killed run leaves
    before = {path: digest for path, digest in file_hashes(tmp_path).items() if TEMPORARY_SUFFIX not in path.name}
    result = cli_outcome(["bench", suite, "--out", out, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "removed 1 half-written file(s)" in result.output
    assert {path: digest for path, digest in file_hashes(tmp_path).items() if path in before} == before
    assert not list(out.rglob(f"*{TEMPORARY_SUFFIX}"))
