"""The one seed scheme (gan_zoo/seeds.py): a fixed rule, distinct streams, refusals."""

import hashlib
import itertools

import numpy as np
import pytest
import torch

from gan_zoo import seeds
from gan_zoo.errors import UserError


def test_the_rule_gives_the_value_it_gave_when_written():
    # computed once by the documented rule (seed 0, purpose "train.step", step 5) when the scheme was written: a
    # change here changes every random draw of every run, so it needs a new SCHEME and a RESULTS note
    assert seeds.derive(0, "train.step", 5) == 4720374683141359106
    assert seeds.SCHEME == "gan_zoo.seeds v1"


def test_the_rule_is_the_one_the_module_documents():
    code = int.from_bytes(hashlib.blake2b(b"birthday.trials").digest()[:8], "big")
    state = np.random.SeedSequence(entropy=7, spawn_key=(code >> 32, code & 0xFFFF_FFFF, 40)).generate_state(
        1, np.uint64)[0]
    assert seeds.derive(7, "birthday.trials", 40) == int(state) >> 1
    assert seeds.derive(7, "birthday.trials", 40, bits=32) == int(state) >> 32


def test_distinct_seeds_purposes_and_indices_give_distinct_streams():
    derived = {}
    for seed, (purpose, (indices, _)) in itertools.product(range(40), seeds.PURPOSES.items()):
        for index in itertools.product(range(40), repeat=len(indices)):
            derived[seed, purpose, index] = seeds.derive(seed, purpose, *index)
    assert len(derived) > 10_000
    assert len(set(derived.values())) == len(derived)
    # the old rule `seed * 1000 + index` gave seed 0's ensemble 1000 the stream of seed 1's ensemble 0
    assert seeds.derive(0, "nn_distance.ensemble", 1000) != seeds.derive(1, "nn_distance.ensemble", 0)
    # a purpose's code and its indices cannot run into each other (one SeedSequence word each)
    assert seeds.derive(0, "train.step", 2**32 - 1) != seeds.derive(0, "ensemble.step", 2**32 - 1)


def test_every_value_is_a_seed_torch_and_the_scheme_itself_take():
    values = [seeds.derive(seed, "split") for seed in (0, 1, 2**31 - 1, 2**63 - 1)]
    assert all(0 <= v < 2**63 for v in values)
    assert seeds.derive(values[-1], "ensemble.init") >= 0  # a derived seed can seed a derivation
    assert all(0 <= seeds.derive(seed, "ct.cells", bits=32) < 2**32 for seed in range(100))


def test_the_helpers_draw_from_the_derived_stream():
    expected = torch.rand(4, generator=torch.Generator().manual_seed(seeds.derive(3, "train.step", 9)))
    assert torch.equal(torch.rand(4, generator=seeds.generator(3, "train.step", 9)), expected)
    seeds.manual_seed(3, "train.step", 9)
    assert torch.equal(torch.rand(4), expected)
    assert not torch.equal(torch.rand(4, generator=seeds.generator(3, "train.step", 10)), expected)


@pytest.mark.parametrize("call,error,message", [
    (lambda: seeds.derive(0, "trian.step", 1), ValueError, "unknown seed purpose 'trian.step'"),
    (lambda: seeds.derive(0, "train.step"), ValueError, "takes 1 index(es) (step), got 0"),
    (lambda: seeds.derive(0, "split", 3), ValueError, "takes 0 index(es) (none), got 1"),
    (lambda: seeds.derive(-1, "split"), UserError, "seed = -1: must be a whole number from 0 to"),
    (lambda: seeds.derive(2**63, "split"), UserError, "seed = 9223372036854775808: must be a whole number"),
    (lambda: seeds.derive(True, "split"), UserError, "seed = True"),
    (lambda: seeds.derive(1.5, "split"), UserError, "seed = 1.5"),
    (lambda: seeds.derive(0, "train.step", -2), UserError, "train.step step = -2: must be a whole number from 0"),
    (lambda: seeds.derive(0, "train.step", 2**32), UserError, "train.step step = 4294967296"),
    (lambda: seeds.derive(0, "split", bits=64), ValueError, "bits = 64"),
    (lambda: seeds.derive(0, "plugin."), ValueError, "a plugin names its own plugin.NAME"),
    (lambda: seeds.derive(0, "plugin.mine", -1), UserError, "plugin.mine index 0 = -1"),
])
def test_bad_purposes_seeds_and_indices_are_refused(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert message in str(caught.value)


def test_a_recording_names_the_purposes_derived_from_its_seed():
    with seeds.recording(4) as record:
        ensemble_seed = seeds.derive(4, "nn_distance.ensemble", 0)
        seeds.generator(ensemble_seed, "ensemble.step", 3)  # derived from a derived seed: counted
        seeds.derive(5, "split")  # another seed's stream: not this record's
        assert record["purposes"] == []  # filled in as the block ends
    assert record == {"seed": 4, "scheme": seeds.SCHEME, "purposes": ["ensemble.step", "nn_distance.ensemble"]}
    seeds.derive(4, "split")  # after the block: not recorded
    assert record["purposes"] == ["ensemble.step", "nn_distance.ensemble"]



def test_a_checkpoint_from_before_the_scheme_is_neither_evaluated_nor_resumed(tmp_path):
    from gan_zoo.checkpoint import read_checkpoint, save_checkpoint
    from gan_zoo.datasets import open_dataset
    from gan_zoo.harness.api import resolve
    from gan_zoo.registry import registry
    from gan_zoo.training import run

    reg, cpu = registry(), torch.device("cpu")
    data = open_dataset(reg.dataset("ring8"), seed=0)
    config = reg.family("memorizer").Config(m=10)
    made = run(reg, "memorizer", config, data, out=tmp_path, seed=0, steps=0, device=cpu)
    assert resolve(made.checkpoint, dataset=None, reg=reg, device=cpu)[1].to_json() == data.to_json()
    meta = read_checkpoint(made.checkpoint).metadata
    older = {k: v for k, v in meta["dataset"].items() if k != "seed_scheme"}  # as written before gan_zoo.seeds
    save_checkpoint(made.checkpoint, made.model, plugin=meta["plugin"], dataset=older, seed=0, step=0)
    with pytest.raises(UserError, match="trained before the seed scheme gan_zoo.seeds v1, whose split seed now "
                                        "draws another training split"):
        resolve(made.checkpoint, dataset=None, reg=reg, device=cpu)
    with pytest.raises(UserError, match="or an older seed scheme"):
        run(reg, "memorizer", config, data, out=tmp_path, seed=0, steps=0, device=cpu)


def test_a_plugin_names_its_own_purposes_and_the_count_of_indices_is_part_of_the_stream():
    streams = [seeds.derive(0, "plugin.mine"), seeds.derive(0, "plugin.mine", 0), seeds.derive(0, "plugin.mine", 0, 0),
               seeds.derive(0, "plugin.other", 0), seeds.derive(1, "plugin.mine", 0), seeds.derive(0, "split")]
    assert len(set(streams)) == len(streams)
    assert seeds.derive(7, "plugin.mine", 3) == seeds.derive(7, "plugin.mine", 3)
    with seeds.recording(2) as record:
        seeds.generator(2, "plugin.mine.subsets", 1)
    assert record["purposes"] == ["plugin.mine.subsets"]
