"""K discriminators of one class and width, trained together as one batched computation (torch.func).

Each member has its own initialisation and its own data order. With stack_module_state the members' weights
become stacked leaf tensors, one optimizer updates them all (Adam is elementwise, so this equals K separate
optimizers), and vmap(functional_call) evaluates all members in one call. Architectures vmap cannot run
(batch norm's running statistics, say) are trained one after another instead, with the same initialisations
and batches; the result records which way it ran.

Early stopping on a validation split (`fit(..., validation=(real, fake))` with select = "best_validation"): the
caller hands over validation items cut from its training data (never its held-out data). Before the first step,
every `validate_every` steps and after the last, every member's validation gap is computed (one batched, gradient-
free call in the vmap path) and a member whose gap beats its best so far (strictly: ties keep the earlier step) has
its weights copied. After training each member is restored to the weights of its largest validation gap, so a
member that starts to memorise its training items is rolled back to before it did. `kept_steps` records the
optimizer step each member was kept at (0: its initialisation), `validation_history` every check. With select =
"last" (or no validation data) the members keep their last weights, the estimator before early stopping.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from gan_zoo.errors import UserError
from gan_zoo.seeds import generator, manual_seed

PHIS = ("log", "identity")
SELECTS = ("best_validation", "last")


@dataclass
class EnsembleConfig:
    members: int = 8  # K discriminators per capacity
    steps: int = 300  # optimizer steps per member
    batch_size: int = 128
    lr: float = 1e-3  # Adam
    phi: str = "log"  # "log": D in (0, 1), the GAN objective; "identity": the Wasserstein form
    clip: float = 0.1  # phi = identity: weights clipped to [-clip, clip] so that D stays weight-limited
    # "best_validation": each member keeps its weights at the checked step with the largest gap on a validation
    # split of the training data (the neural-net distance cuts it off); "last": the final weights, no split
    select: str = "best_validation"
    validation: float = 0.2  # share of each side of the training data held back as validation
    validate_every: int = 5  # optimizer steps between validation checks

    def __post_init__(self):
        if self.select not in SELECTS:
            raise UserError(f"ensemble select {self.select!r}: use one of {', '.join(SELECTS)}")
        if self.select == "best_validation" and not 0 < self.validation < 1:
            raise UserError(f"ensemble validation share {self.validation}: use a share in (0, 1), e.g. 0.2")
        if self.validate_every < 1:
            raise UserError(f"ensemble validate_every {self.validate_every}: use a positive number of steps")


def gap(phi: str, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Per member (last axis: items): how well D separates real from fake; 0 when it cannot.

    identity: E_P D(x) - E_Q D(x).  log: E_P log D(x) + E_Q log(1 - D(x)) + 2 log 2, with D = sigmoid(output),
    the neural-net distance for phi = log of Arora et al. (2017); it lies in [0, 2 log 2] at the optimum.
    """
    if phi == "identity":
        return real_out.mean(-1) - fake_out.mean(-1)
    return F.logsigmoid(real_out).mean(-1) + F.logsigmoid(-fake_out).mean(-1) + 2 * math.log(2)


def has_running_stats(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats for m in module.modules())


class Ensemble:
    def __init__(self, make: Callable[[], nn.Module], config: EnsembleConfig, seed: int, device: torch.device,
                 batched: bool | None = None):
        manual_seed(seed, "ensemble.init")
        self.models = [make().to(device) for _ in range(config.members)]
        self.config, self.seed, self.device = config, seed, device
        self.batched = not has_running_stats(self.models[0]) if batched is None else batched
        if self.batched:
            self.params, self.buffers = stack_module_state(self.models)
            self.skeleton = copy.deepcopy(self.models[0]).to("meta")

    @property
    def mode(self) -> str:
        return "vmap" if self.batched else "loop"

    def _member(self, params, buffers, *inputs):
        return functional_call(self.skeleton, (params, buffers), inputs)

    def fit(self, real: tuple, fake: tuple, validation: tuple[tuple, tuple] | None = None) -> None:
        """Train every member to maximise its gap between `real` and `fake` (tuples of aligned tensors).

        With `validation` (real, fake) and select = "best_validation", each member ends at the weights of its
        largest validation gap over the checked steps (module docstring).
        """
        config, K = self.config, self.config.members
        if self.batched:
            optimizers = [torch.optim.Adam(self.params.values(), config.lr)]
        else:
            optimizers = [torch.optim.Adam(m.parameters(), config.lr) for m in self.models]
            for m in self.models:
                m.train()
        self.kept_steps = torch.full((K,), config.steps)
        self.checked_steps: list[int] = []
        self.validation_history: torch.Tensor | None = None
        self.validation_gaps: torch.Tensor | None = None
        selection = validation if config.select == "best_validation" else None  # the items members are kept on
        if selection is not None:
            self._check(0, selection)
        for step in range(config.steps):
            order = generator(self.seed, "ensemble.step", step)
            real_index = torch.randint(len(real[0]), (K, config.batch_size), generator=order).to(self.device)
            fake_index = torch.randint(len(fake[0]), (K, config.batch_size), generator=order).to(self.device)
            real_batch = tuple(t[real_index] for t in real)  # (K, B, ...)
            fake_batch = tuple(t[fake_index] for t in fake)
            if self.batched:
                scores = vmap(self._scores_of_member, randomness="different")(self.params, self.buffers,
                                                                              real_batch, fake_batch)
                loss = -gap(config.phi, *scores).sum()
                optimizers[0].zero_grad(set_to_none=True)
                loss.backward()
                optimizers[0].step()
                parameters = list(self.params.values())
            else:
                for k, (model, optimizer) in enumerate(zip(self.models, optimizers, strict=True)):
                    loss = -gap(config.phi, model(*(t[k] for t in real_batch)), model(*(t[k] for t in fake_batch)))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                parameters = [p for m in self.models for p in m.parameters()]
            if config.phi == "identity":
                with torch.no_grad():
                    for p in parameters:
                        p.clamp_(-config.clip, config.clip)
            if selection is not None and ((step + 1) % config.validate_every == 0 or step + 1 == config.steps):
                self._check(step + 1, selection)
        if selection is not None:
            self._restore_best()
        elif validation is not None:  # select = "last": report the final weights' validation gap
            self.validation_gaps = self.validation_gap(validation)

    def validation_gap(self, validation: tuple[tuple, tuple]) -> torch.Tensor:
        """(K,): every member's gap on the validation items, as the members stand now."""
        gaps = gap(self.config.phi, self.scores(validation[0]), self.scores(validation[1]))
        if not self.batched:
            for m in self.models:
                m.train()  # scores() switched them to eval
        return gaps

    @torch.no_grad()
    def _check(self, step: int, validation: tuple[tuple, tuple]) -> None:
        gaps = self.validation_gap(validation)
        self.checked_steps.append(step)
        if self.validation_history is None or self.validation_gaps is None:  # the first check: each member's best
            self.validation_history, self.validation_gaps = gaps[None], gaps.clone()
            improved = torch.ones(len(gaps), dtype=torch.bool)
            # per parameter name (stacked over members) when batched, else per member: a state_dict
            self._best: Any = ({n: v.detach().clone() for n, v in self.params.items()} if self.batched else
                          [None] * len(self.models))
        else:
            self.validation_history = torch.cat([self.validation_history, gaps[None]])
            improved = gaps > self.validation_gaps
            self.validation_gaps = torch.where(improved, gaps, self.validation_gaps)
        self.kept_steps[improved] = step
        if self.batched:
            mask = improved.to(self.device)
            for name, value in self.params.items():
                self._best[name][mask] = value.detach()[mask]
        else:
            for k in improved.nonzero().flatten().tolist():
                self._best[k] = copy.deepcopy(self.models[k].state_dict())

    @torch.no_grad()
    def _restore_best(self) -> None:
        if self.batched:
            for name, value in self.params.items():
                value.copy_(self._best[name])
        else:
            for model, state in zip(self.models, self._best, strict=True):
                model.load_state_dict(state)
        del self._best

    def _scores_of_member(self, params, buffers, real_batch, fake_batch):
        return self._member(params, buffers, *real_batch), self._member(params, buffers, *fake_batch)

    @torch.no_grad()
    def scores(self, inputs: tuple, chunk: int = 2048) -> torch.Tensor:
        """(K, N): every member's output on every item."""
        parts = []
        for start in range(0, len(inputs[0]), chunk):
            piece = tuple(t[start:start + chunk].to(self.device) for t in inputs)
            if self.batched:
                parts.append(vmap(self._member, in_dims=(0, 0, *[None] * len(piece)))(self.params, self.buffers,
                                                                                         *piece))
            else:
                parts.append(torch.stack([m.eval()(*piece) for m in self.models]))
        return torch.cat(parts, dim=1).cpu()

    def state_of_member(self, k: int) -> dict[str, torch.Tensor]:
        if self.batched:
            return {name: value[k].detach() for name, value in self.params.items()}
        return {name: value.detach() for name, value in self.models[k].named_parameters()}
