"""Every random stream gan-zoo draws, derived from (seed, purpose, index...) by one rule.

The rule (SCHEME): the stream of (seed, purpose, i1, i2, ...) is seeded with the first 63 bits of

    numpy.random.SeedSequence(entropy=seed, spawn_key=(hi, lo, i1, i2, ...)).generate_state(1, numpy.uint64)[0]

where hi and lo are the two 32-bit halves of the purpose's code, the first 8 bytes (big-endian) of
blake2b(purpose name, UTF-8). Why it cannot collide: every field enters SeedSequence as exactly its own 32-bit
words (the seed padded to four, the code two, each index one; a purpose has a fixed number of indices), so
distinct (seed, purpose, index) are distinct inputs, and SeedSequence hashes them into unrelated 64-bit states:
two of them coincide with probability 2^-63, about k^2 / 2^64 among k streams (5e-8 for a million). The old
arithmetic (`seed * 1000 + index`, `2 * seed + 1`, ...) let streams of nearby seeds land on each other.

Purposes are the names in PURPOSES, each with the indices it takes; any other name, or a wrong count of indices,
is refused, so a typo cannot open a new stream unnoticed. A plugin's purposes are its own: any name that starts
with PLUGIN ("plugin.mymetric.subsets"), with any number of indices; the count enters its code (blake2b of
"name/count"), so the same name with another count is another stream. A record names the purposes it drew from
(`recording`). The user's seed itself seeds one thing only: the items of the source under evaluation
(`source.draw(n, seed)`, so `gan-zoo sample --seed s` gives the items an evaluation at seed s judged); every other
stream is derived here. A function that takes a seed for one stream of its own (model.sample, kid, a finite
source's draw) uses it as it is: its caller derives it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from gan_zoo.errors import UserError

SCHEME = "gan_zoo.seeds v1"
PLUGIN = "plugin."  # the prefix of a plugin's own purposes, which PURPOSES does not list
SEED_LIMIT = 2**63  # seeds and derived seeds alike lie in [0, 2^63): a derived seed can seed a derivation
INDEX_LIMIT = 2**32  # one SeedSequence word per index keeps the encoding one-to-one

# name -> (its indices, what it draws)
PURPOSES: dict[str, tuple[tuple[str, ...], str]] = {
    "split": ((), "open_dataset's permutation into held-out, control and training items"),
    "train.init": ((), "a run's initial weights (the global torch generator before the model is built)"),
    "train.step": (("step",), "a training step's randomness (global torch generator): batches, noise, dropout"),
    "construct": ((), "a constructed family's choices (model.construct's seed), e.g. the memorizer's items"),
    "ensemble.init": ((), "a discriminator ensemble's initial weights"),
    "ensemble.step": (("step",), "an ensemble step's batch indices"),
    "classifier.init": ((), "a domain classifier's initial weights"),
    "classifier.step": (("step",), "a domain classifier step's batch indices"),
    "nn_distance.fake": ((), "the source items nn_distance trains and tests its discriminators on"),
    "nn_distance.encode": (("part",), "E(x) of real items for (x, z) pairs: 0 train, 1 held-out, 2 and 3 the "
                                      "noise floor's second train and held-out halves"),
    "nn_distance.validation": (("side",), "the validation split of the training items: 0 real, 1 generated"),
    "nn_distance.ensemble": (("capacity",), "the ensemble of a capacity (its place in the capacity list)"),
    "nn_distance.bootstrap": ((), "the bootstrap of the held-out gap's interval"),
    "birthday.calibration": ((), "the held-out items the duplicate threshold is calibrated on"),
    "birthday.trials": (("s",), "the trials of size s"),
    "birthday.pool": ((), "the one draw of a finite source's whole pool"),
    "kid.subsets": ((), "KID's subsets (the same for the source and the training-set control)"),
    "ct.cells": ((), "C_T's k-means cells and PCA (sklearn random_state, 32 bits)"),
    "fld.baseline": ((), "the training items FLD's baseline splits"),
    "overlap.tolerance": ((), "the held-out items the overlap check reads its tolerance from"),
    "overlap.near": ((), "the source items searched for near copies"),
    "probe.encode": (("split",), "E(x) of the probe's items: 0 training, 1 held-out"),
    "tracking.partition": (("part",), "a tracker's held-out partition: 0 the reference, k the k-th control run"),
    "gauntlet.adversary": ((), "an adversary's control items and its own randomness"),
}

_recorders: list[tuple[set[int], set[str]]] = []  # (the recorded seed and those derived from it, purposes)

def derive(seed: int, purpose: str, *index: int, bits: int = 63) -> int:
    """The seed of the stream (seed, purpose, index...), as an int of `bits` bits (32 for sklearn and numpy's
    legacy seeding, which take no more)."""
    own = purpose.startswith(PLUGIN) and len(purpose) > len(PLUGIN)
    if purpose not in PURPOSES and not own:
        raise ValueError(f"unknown seed purpose {purpose!r}; a plugin names its own {PLUGIN}NAME, e.g. "
                         f"'{PLUGIN}mymetric.subsets'; the built-in ones are {', '.join(PURPOSES)}")
    names = tuple(f"index {i}" for i in range(len(index))) if own else PURPOSES[purpose][0]
    if len(index) != len(names):
        raise ValueError(f"seed purpose {purpose!r} takes {len(names)} index(es) ({', '.join(names) or 'none'}), "
                         f"got {len(index)}")
    _check_whole("seed", seed, SEED_LIMIT)
    for name, value in zip(names, index, strict=True):
        _check_whole(f"{purpose} {name}", value, INDEX_LIMIT)
    if not 1 <= bits <= 63:
        raise ValueError(f"bits = {bits}: derive gives 1 to 63 bits")
    named = f"{purpose}/{len(index)}" if own else purpose  # a plugin's count is not fixed: it enters the code
    code = int.from_bytes(hashlib.blake2b(named.encode()).digest()[:8], "big")
    key = (code >> 32, code & 0xFFFF_FFFF, *(int(i) for i in index))
    state = np.random.SeedSequence(entropy=int(seed), spawn_key=key).generate_state(1, np.uint64)[0]
    derived = int(state) >> (64 - bits)
    for chain, used in _recorders:
        if seed in chain:
            chain.add(derived)
            used.add(purpose)
    return derived


def generator(seed: int, purpose: str, *index: int) -> torch.Generator:
    """A CPU torch.Generator on the stream (seed, purpose, index...)."""
    return torch.Generator().manual_seed(derive(seed, purpose, *index))


def manual_seed(seed: int, purpose: str, *index: int) -> None:
    """Seed torch's global generators (CPU and CUDA) with the stream (seed, purpose, index...)."""
    torch.manual_seed(derive(seed, purpose, *index))


@contextmanager
def recording(seed: int) -> Iterator[dict]:
    """{"seed", "scheme", "purposes"} for a record, "purposes" filled in as the block ends: those derived inside
    it from `seed`, or from a seed derived from it (an nn_distance ensemble's steps, say)."""
    chain: set[int] = {seed}
    used: set[str] = set()
    described = {"seed": seed, "scheme": SCHEME, "purposes": []}
    _recorders.append((chain, used))
    try:
        yield described
    finally:
        _recorders.pop()  # blocks nest, so this one is the last
        described["purposes"] = sorted(used)

def _check_whole(name: str, value, limit: int) -> None:
    """Seeds and indices may come from a user (--seed, a suite's seeds): a wrong one is a UserError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < limit:
        raise UserError(f"{name} = {value!r}: must be a whole number from 0 to {limit - 1}")
