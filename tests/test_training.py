import dataclasses

import pytest
import torch

from gan_zoo.checkpoint import read_checkpoint
from gan_zoo.datasets import open_dataset
from gan_zoo.devices import resolve_device
from gan_zoo.errors import Diverged, UserError
from gan_zoo.family import DataSpec
from gan_zoo.registry import registry
from gan_zoo.training import run

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def ring8():
    return open_dataset(registry().dataset("ring8"), seed=0)


def config(**changes):
    return dataclasses.replace(registry().family("vanilla").Config(), width=16, batch_size=32, **changes)


def train(data, out, steps, **kwargs):
    return run(registry(), "vanilla", kwargs.pop("cfg", config()), data, out=out, seed=3, steps=steps,
               device=CPU, **kwargs)


def before_each_step(monkeypatch, hook):
    """Call hook(call number from 1, optimizers) before each of vanilla's training steps."""
    family = registry().family("vanilla")
    original, calls = family.training_step, {"n": 0}

    def spied(self, real, optimizers):
        calls["n"] += 1
        hook(calls["n"], optimizers)
        return original(self, real, optimizers)

    monkeypatch.setattr(family, "training_step", spied)


def interrupt_at_call(monkeypatch, n):
    """Make vanilla's n-th training step raise KeyboardInterrupt, as Ctrl-C would."""
    def interrupt(call, optimizers):
        if call == n:
            raise KeyboardInterrupt

    before_each_step(monkeypatch, interrupt)


def assert_same_weights(a, b):
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name


@pytest.mark.parametrize("schedule", ["linear", "constant"])
def test_resumed_run_equals_the_uninterrupted_one(ring8, tmp_path, monkeypatch, schedule):
    cfg = config(lr_schedule=schedule)
    straight = train(ring8, tmp_path / "straight", 12, checkpoint_every=100, cfg=cfg)
    with monkeypatch.context() as patch:
        interrupt_at_call(patch, 8)
        with pytest.raises(KeyboardInterrupt):
            train(ring8, tmp_path / "resumed", 12, checkpoint_every=5, cfg=cfg)
    assert read_checkpoint(tmp_path / "resumed" / "model.safetensors").step == 5
    resumed = train(ring8, tmp_path / "resumed", 12, checkpoint_every=100, cfg=cfg)
    assert resumed.resumed_from == 5 and resumed.step == 12
    assert_same_weights(straight.model, resumed.model)


def test_linear_schedule_decays_the_rate_to_zero_over_the_planned_steps(ring8, tmp_path, monkeypatch):
    seen = []
    before_each_step(monkeypatch, lambda call, optimizers: seen.append(
        [group["lr"] for opt in optimizers.values() for group in opt.param_groups]))
    train(ring8, tmp_path, 4, cfg=config(lr=1e-3))
    assert seen == [[pytest.approx(1e-3 * f)] * 2 for f in (1, 0.75, 0.5, 0.25)]


def test_a_decaying_run_is_not_stretched_but_a_constant_one_is(ring8, tmp_path):
    train(ring8, tmp_path / "linear", 4)
    with pytest.raises(UserError, match="planned for 4 steps.*--steps 4"):
        train(ring8, tmp_path / "linear", 8)
    train(ring8, tmp_path / "constant", 4, cfg=config(lr_schedule="constant"))
    longer = train(ring8, tmp_path / "constant", 8, cfg=config(lr_schedule="constant"))
    assert longer.resumed_from == 4 and longer.step == 8


def test_unknown_schedule_is_named(ring8, tmp_path):
    with pytest.raises(UserError, match="lr_schedule must be one of auto, constant, linear, not 'cosine'"):
        train(ring8, tmp_path, 2, cfg=config(lr_schedule="cosine"))


def test_same_seed_same_weights_different_seed_different(ring8, tmp_path):
    a = train(ring8, tmp_path / "a", 4).model.state_dict()
    b = train(ring8, tmp_path / "b", 4).model.state_dict()
    c = run(registry(), "vanilla", config(), ring8, out=tmp_path / "c", seed=4, steps=4,
            device=CPU).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(ring8, tmp_path, monkeypatch):
    family = registry().family("vanilla")
    original = family.training_step
    calls = {"n": 0}

    def poisoned(self, real, optimizers):
        calls["n"] += 1
        losses = original(self, real, optimizers)
        if calls["n"] == 7:
            with torch.no_grad():
                next(self.generator.parameters()).fill_(float("nan"))
        return losses

    monkeypatch.setattr(family, "training_step", poisoned)
    with pytest.raises(Diverged, match=r"diverged at step 7.*step 5\)"):
        train(ring8, tmp_path, 20, checkpoint_every=5)
    kept = read_checkpoint(tmp_path / "model.safetensors")
    assert kept.step == 5
    assert all(torch.isfinite(t).all() for t in kept.tensors.values())


def test_a_different_run_is_never_overwritten(ring8, tmp_path):
    train(ring8, tmp_path, 3)
    before = (tmp_path / "model.safetensors").read_bytes()
    with pytest.raises(UserError, match="holds a different run"):
        train(ring8, tmp_path, 3, cfg=config(lr=1e-2))
    assert (tmp_path / "model.safetensors").read_bytes() == before


def test_finished_run_is_not_trained_again(ring8, tmp_path):
    train(ring8, tmp_path, 4)
    again = train(ring8, tmp_path, 4)
    assert again.resumed_from == 4 and again.step == 4


def test_auto_schedule_decays_on_vectors_only():
    family = registry().family("vanilla")
    assert family.Config().lr_schedule == "auto"
    assert family(family.Config(), DataSpec((2,), 2)).lr_schedule == "linear"
    assert family(family.Config(), DataSpec((1, 8, 8), 8, bounded=True)).lr_schedule == "constant"
    assert family(config(lr_schedule="linear"), DataSpec((1, 8, 8), 8, bounded=True)).lr_schedule == "linear"


def test_a_device_name_is_resolved_or_refused_in_one_line():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError, match=r"^device 'gpu': not a device name; use auto, cpu, cuda or cuda:N$"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match=r"^device 'cuda:1': no CUDA device is available here; use cpu or auto$"):
            resolve_device("cuda:1")
