"""K discriminators of one class and width, trained together as one batched computation (torch.func).

Each member has its own initialisation and its own data order. With stack_module_state the members' weights
become stacked leaf tensors, one optimizer updates them all (Adam is elementwise, so this equals K separate
optimizers), and vmap(functional_call) evaluates all members in one call. Architectures vmap cannot run
(batch norm's running statistics, say) are trained one after another instead, with the same initialisations
and batches; the result records which way it ran.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from gan_zoo.training import step_seed

PHIS = ("log", "identity")


@dataclass
class EnsembleConfig:
    members: int = 8  # K discriminators per capacity
    steps: int = 300  # optimizer steps per member
    batch_size: int = 128
    lr: float = 1e-3  # Adam
    phi: str = "log"  # "log": D in (0, 1), the GAN objective; "identity": the Wasserstein form
    clip: float = 0.1  # phi = identity: weights clipped to [-clip, clip] so that D stays weight-limited


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
        torch.manual_seed(seed)
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

    def fit(self, real: tuple, fake: tuple) -> None:
        """Train every member to maximise its gap between `real` and `fake` (tuples of aligned tensors)."""
        config, K = self.config, self.config.members
        if self.batched:
            optimizers = [torch.optim.Adam(self.params.values(), config.lr)]
        else:
            optimizers = [torch.optim.Adam(m.parameters(), config.lr) for m in self.models]
            for m in self.models:
                m.train()
        for step in range(config.steps):
            order = torch.Generator().manual_seed(step_seed(self.seed, step))
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
