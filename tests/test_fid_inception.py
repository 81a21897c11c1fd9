"""The FID InceptionV3 (harness/fid_inception.py) behind the `inception` feature space: pytorch-fid's keys, shapes
and numbers, loaded from weights files written here (random weights: nothing is downloaded). InceptionV3 at
299x299 takes about a second per forward pass on one CPU thread, so two items and one network per module."""

import hashlib
import importlib
import importlib.util
import os

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.fid_inception import FIDInceptionV3
from gan_zoo.harness.inception import inception_v3
from gan_zoo.plugins.feature_spaces import InceptionConfig, InceptionSpace
from gan_zoo.registry import registry

CPU = torch.device("cpu")
# pytorch-fid's fid_inception_v3() state dict (mseitzer/pytorch-fid b9c1811, src/pytorch_fid/inception.py), built
# offline with the download replaced: SHA-256 of "key:[shape];" over its keys in order, and its sizes
KEYS_SHA256 = "645971fe44ad255a8ee07925df9f0bd91ab423f20f72bbfb59a95b9221fd20d9"
N_KEYS, N_PARAMETERS, N_BATCH_NORMS = 566, 23_850_960, 94


@pytest.fixture(scope="module")
def fid(tmp_path_factory):
    """A random FID network and its weights written as a torch state dict and as safetensors."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    network = FIDInceptionV3().eval()
    for module in network.modules():  # He init keeps activations of order 1 through 94 layers (the default: ~1e-8)
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    state = {key: value.contiguous() for key, value in network.state_dict().items()}
    folder = tmp_path_factory.mktemp("fid")
    torch.save(state, folder / "pt_inception.pth")
    save_file(state, folder / "pt_inception.safetensors")
    return network, state, folder


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


@pytest.fixture(scope="module")
def items(digits):
    """Two held-out 8x8 gray digits in [-1, 1]: resized to 299x299 and repeated to RGB on the way in."""
    return digits.heldout.x[:2]


def shapes(state):
    return [(key, list(value.shape)) for key, value in state.items()]


def test_the_port_has_pytorch_fids_keys_and_shapes(fid):
    network, state, _ = fid
    assert hashlib.sha256("".join(f"{k}:{s};" for k, s in shapes(state)).encode()).hexdigest() == KEYS_SHA256
    assert len(state) == N_KEYS and sum(p.numel() for p in network.parameters()) == N_PARAMETERS
    assert sum(key.endswith("num_batches_tracked") for key in state) == N_BATCH_NORMS
    assert not any(key.startswith("AuxLogits") for key in state)  # pytorch-fid builds it with aux_logits=False
    for key, shape in (("Conv2d_1a_3x3.conv.weight", [32, 3, 3, 3]), ("Mixed_5b.branch_pool.conv.weight",
                       [32, 192, 1, 1]), ("Mixed_6e.branch7x7dbl_5.conv.weight", [192, 192, 1, 7]),
                       ("Mixed_7c.branch3x3dbl_3b.bn.running_var", [384]), ("fc.weight", [1008, 2048]),
                       ("fc.bias", [1008])):
        assert list(state[key].shape) == shape, key


def pytorch_fid_reference():
    """pytorch-fid's inception module: the file PYTORCH_FID_INCEPTION names (its src/pytorch_fid/inception.py),
    else the installed package, else the test is skipped."""
    path = os.environ.get("PYTORCH_FID_INCEPTION")
    if path:
        spec = importlib.util.spec_from_file_location("pytorch_fid_reference", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    if importlib.util.find_spec("pytorch_fid") is None:
        pytest.skip("pytorch-fid's source is not here: set PYTORCH_FID_INCEPTION=path/to/pytorch_fid/inception.py")
    return importlib.import_module("pytorch_fid.inception")


def test_the_port_computes_what_pytorch_fid_computes(fid, monkeypatch):
    network, state, _ = fid
    reference = pytorch_fid_reference()
    # pytorch-fid's own builders, strict load_state_dict included, fed the port's weights instead of a download
    monkeypatch.setattr(reference, "load_state_dict_from_url", lambda *args, **kwargs: state)
    pool3 = reference.InceptionV3([3]).eval()
    classifier = reference.fid_inception_v3().eval()
    assert shapes(classifier.state_dict()) == shapes(state)
    images = torch.rand(2, 3, 40, 50, generator=torch.Generator().manual_seed(0))  # pytorch-fid takes [0, 1]
    with torch.no_grad():
        features = network.features(images)
        assert torch.equal(features, pool3(images)[0].flatten(1))
        resized = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        expected = classifier(2 * resized - 1) - classifier.fc.bias  # the Inception Score's logits: no bias
        assert torch.allclose(network(images), expected, rtol=1e-5, atol=1e-5)
    assert features.std() > 0.01  # not a network of zeros agreeing with itself


def test_the_standard_fid_weights_load_through_the_inception_space(fid, digits, items):
    network, _, folder = fid
    assert InceptionSpace().applies(digits, "") is None
    loaded = []
    for path in (folder / "pt_inception.pth", folder / "pt_inception.safetensors"):
        extractor = InceptionSpace().load(digits, "", InceptionConfig(weights=str(path)), CPU)
        assert extractor.dim == 2048
        assert extractor.info == {"arch": "fid_inception_v3", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                  "weights": str(path), "logits": "pool3 @ fc.weight.T, no bias",
                                  "resize": "pytorch-fid"}
        loaded.append(extractor.features(items))
    features, again = loaded
    assert features.shape == (2, 2048) and features.dtype == torch.float32 and torch.isfinite(features).all()
    assert torch.equal(features, again)  # the same from a second load, and from either file format
    assert not torch.equal(features[0], features[1])
    logits = extractor.logits(items)
    assert logits.shape == (2, 1008) and torch.isfinite(logits).all()
    assert torch.allclose(logits, features @ network.fc.weight.T, rtol=1e-5, atol=1e-5)


def test_fid_weights_saved_before_batch_norm_counted_batches_load(fid, tmp_path):
    # the FID weights date from 2018: a file without num_batches_tracked must load as well
    _, state, _ = fid
    path = tmp_path / "old.safetensors"
    save_file({key: value for key, value in state.items() if not key.endswith("num_batches_tracked")}, path)
    assert inception_v3(path, CPU)[1]["arch"] == "fid_inception_v3"


def test_timm_inception_v3_weights_still_load(tmp_path, items):
    import timm

    torch.manual_seed(0)
    path = tmp_path / "timm_inception.pth"
    torch.save(timm.create_model("inception_v3", pretrained=False).state_dict(), path)
    network, info = inception_v3(path, CPU)
    assert info == {"arch": "inception_v3", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "weights": str(path)}
    with torch.no_grad():
        assert network.features(items).shape == (2, 2048) and network.num_features == 2048


@pytest.mark.parametrize("change, problem", [
    ("other", "(it has no fc.weight); expected pytorch-fid's fid_inception_v3 (fc.weight [1008, 2048]) or timm's "
              "inception_v3 (fc.weight [1000, 2048])"),
    ("ten classes", "(its fc.weight is [10, 2048]); expected pytorch-fid's fid_inception_v3"),
    ("missing", "for pytorch-fid's fid_inception_v3 (1 missing, 0 unexpected tensors, e.g. 'Mixed_7c.branch_pool"),
    ("extra", "for pytorch-fid's fid_inception_v3 (0 missing, 1 unexpected tensors, e.g. 'AuxLogits.fc.weight')"),
    ("wrong shape", "for pytorch-fid's fid_inception_v3 (size mismatch for Conv2d_1a_3x3.conv.weight"),
])
def test_weights_that_fit_neither_network_are_one_line_errors(fid, tmp_path, change, problem):
    _, state, _ = fid
    state = dict(state)
    if change == "other":
        state = {"w": torch.zeros(3)}
    elif change == "ten classes":
        state["fc.weight"] = torch.zeros(10, 2048)
    elif change == "missing":
        del state["Mixed_7c.branch_pool.conv.weight"]
    elif change == "extra":
        state["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    else:
        state["Conv2d_1a_3x3.conv.weight"] = torch.zeros(32, 1, 3, 3)
    path = tmp_path / "weights.safetensors"
    save_file(state, path)
    with pytest.raises(UserError) as failure:
        inception_v3(path, CPU)
    message = str(failure.value)
    assert message.startswith(f"{path}: not InceptionV3 weights") and problem in message and "\n" not in message


def test_a_pickle_that_is_no_state_dict_is_refused_unread(tmp_path):
    path = tmp_path / "network.pth"
    torch.save(nn.Linear(2, 2), path)  # a whole module: loading it would unpickle code
    with pytest.raises(UserError, match="not a readable weights file"):
        inception_v3(path, CPU)
