"""One evaluation of one model on one data set: every metric that applies, in one versioned JSON record.

Record schema `gan-zoo-eval/1` (top-level keys):
  schema, family, display_name, plugin, dataset {name, fingerprint, split_seed, n_train, n_heldout}, seed,
  config (the family's), facts (what the model knows exactly about itself, e.g. a construction's support),
  eval_config, metrics, timings {metric: seconds}, versions.
metrics (each present when requested and applicable; `skipped` lists the others with the reason):
  nn_distance      list, one entry per capacity: p, target_p, width, members, mode (vmap|loop), train_gap,
                   train_gap_mean, heldout_gap, heldout_gap_mean, ci [low, high] (95% bootstrap, held-out gap),
                   noise_floor, noise_floor_ci (real held-out data against itself, same machinery and sizes);
                   plus nn_distance_setup {discriminator, phi, pairs (true for encoder families)}
  inception_score  mean, std, n, splits, real_ceiling (the held-out data's own score), classifier_accuracy,
                   classifier {arch, ...}
  fd               value (Frechet distance in the classifier's feature space), real_floor (held-out halves)
  birthday         support_estimate, collision_estimate, ci, ci_level, p_duplicate_by_s, s50, collisions,
                   pairs_examined, threshold (+ its calibration), embedding, montage (PNG path or null)
  modes            modes_captured, n_modes, high_quality_fraction, reverse_kl, per_mode_counts
  probe            accuracy of a linear probe on E(x) predicting the labels, chance (the majority share)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel
from gan_zoo.files import versions
from gan_zoo.harness.birthday import BirthdayConfig, birthday_test
from gan_zoo.harness.discriminators import split_name
from gan_zoo.harness.ensemble import EnsembleConfig
from gan_zoo.harness.inception import (
    ClassifierConfig,
    domain_classifier,
    frechet_distance,
    inception_score,
    inception_v3,
)
from gan_zoo.harness.modes import mode_coverage
from gan_zoo.harness.nn_distance import nn_distance
from gan_zoo.registry import Registry

SCHEMA = "gan-zoo-eval/1"
METRICS = ("nn_distance", "inception_score", "fd", "birthday", "modes", "probe")


@dataclass
class EvalConfig:
    metrics: tuple[str, ...] = METRICS  # those that do not apply are skipped with the reason
    discriminator: str = "mlp"  # evaluation discriminator class, e.g. mlp, mlp:3, conv, timm:test_resnet
    capacities: tuple[int, ...] = (1_000, 10_000, 100_000)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    max_items: int = 4000  # real items per side for the neural-net distance (halves of train and held-out)
    mode_samples: int = 2500  # PacGAN's protocol
    is_samples: int = 5000
    birthday: BirthdayConfig = field(default_factory=BirthdayConfig)
    birthday_embedding: str = "pixels"  # or "classifier": distances in the domain classifier's feature space
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    inception_weights: str | None = None  # a local InceptionV3 weights file; None: the domain classifier


def evaluate(model: GanModel, data: LoadedDataset, registry: Registry, config: EvalConfig, *, seed: int,
             device: torch.device, plugin: dict, montage: Path | None = None) -> dict:
    unknown = sorted(set(config.metrics) - set(METRICS))
    if unknown:
        raise UserError(f"--metrics: unknown metric {unknown[0]!r}; available: {', '.join(METRICS)}")
    metrics, timings, skipped = {}, {}, {}
    labelled_images = data.spec.is_image and data.spec.num_classes is not None
    classifier = None

    def get_classifier():
        nonlocal classifier
        if classifier is None:
            started = time.perf_counter()
            classifier = (inception_v3(Path(config.inception_weights), device) if config.inception_weights
                          else domain_classifier(data, config.classifier, device))
            timings["classifier"] = round(time.perf_counter() - started, 3)
        return classifier

    reasons = {
        "inception_score": None if labelled_images or config.inception_weights else
        f"{data.name} has no labelled images to train a domain classifier on",
        "fd": None if labelled_images or config.inception_weights else f"{data.name} has no labelled images",
        "modes": None if data.heldout.modes is not None else f"{data.name} has no known mode centres",
        "probe": None if "encoder" in model.players and data.spec.num_classes else
        "needs an encoder and labelled data",
    }
    for metric in config.metrics:
        if reasons.get(metric):
            skipped[metric] = reasons[metric]
            continue
        started = time.perf_counter()
        if metric == "nn_distance":
            metrics["nn_distance"], metrics["nn_distance_setup"] = _nn_distance(model, data, registry, config, seed,
                                                                                device)
        elif metric == "inception_score":
            network, info = get_classifier()
            samples = model.sample(config.is_samples, seed=seed)
            metrics["inception_score"] = {**inception_score(network, samples),
                                          "real_ceiling": inception_score(network, data.heldout.x)["mean"],
                                          "classifier_accuracy": info.get("heldout_accuracy"), "classifier": info}
        elif metric == "fd":
            network, _ = get_classifier()
            real = data.heldout.x
            half = len(real) // 2
            metrics["fd"] = {"value": frechet_distance(network, real, model.sample(len(real), seed=seed + 1)),
                             "real_floor": frechet_distance(network, real[:half], real[half:])}
        elif metric == "birthday":
            metrics["birthday"] = _birthday(model, data, config, seed, get_classifier, montage)
        elif metric == "modes":
            metrics["modes"] = mode_coverage(model.sample(config.mode_samples, seed=seed), data.heldout.modes,
                                             data.heldout.mode_std)
        elif metric == "probe":
            metrics["probe"] = linear_probe(model, data)
        timings[metric] = round(time.perf_counter() - started, 3)
    if skipped:
        metrics["skipped"] = skipped
    return {"schema": SCHEMA, "family": model.name, "display_name": model.display_name, "plugin": plugin,
            "dataset": data.to_json(), "seed": seed, "config": asdict(model.config), "facts": model.facts(),
            "eval_config": asdict(config), "metrics": metrics, "timings": timings, "versions": versions()}


def _halves(x: torch.Tensor, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = min(len(x) // 2, limit)
    return x[:n], x[n:2 * n]


def _nn_distance(model, data, registry, config, seed, device):
    base, option = split_name(config.discriminator)
    cls = registry.discriminator(base)
    pairs = "encoder" in model.players
    train_a, train_b = _halves(data.train.x, config.max_items)
    held_a, held_b = _halves(data.heldout.x, config.max_items)

    def real(x, s):
        return model.encode_real(x, seed=s) if pairs else (x,)

    def fake(n, s):
        return model.sample_with_codes(n, seed=s) if pairs else (model.sample(n, seed=s),)

    code_dim = model.latent_dim if pairs else 0
    common = dict(cls=cls, option=option, spec=data.spec, code_dim=code_dim, capacities=list(config.capacities),
                  config=config.ensemble, seed=seed, device=device)
    measured = nn_distance(train=(real(train_a, seed), fake(len(train_a), 2 * seed + 1)),
                           heldout=(real(held_a, seed + 1), fake(len(held_a), 2 * seed + 2)), **common)
    floor = nn_distance(train=(real(train_a, seed), real(train_b, seed + 2)),
                        heldout=(real(held_a, seed + 1), real(held_b, seed + 3)), **common)
    for entry, noise in zip(measured, floor, strict=True):
        entry["noise_floor"], entry["noise_floor_ci"] = noise["heldout_gap"], noise["ci"]
    setup = {"discriminator": config.discriminator, "phi": config.ensemble.phi, "pairs": pairs,
             "items_per_side": {"train": len(train_a), "heldout": len(held_a)}}
    return measured, setup


def _birthday(model, data, config, seed, get_classifier, montage):
    if config.birthday_embedding == "classifier":
        network, _ = get_classifier()
        device = next(network.parameters()).device

        def embed(items):
            with torch.no_grad():
                return torch.cat([network.features(c.to(device)).cpu() for c in items.split(512)])
    elif config.birthday_embedding == "pixels":
        embed = None
    else:
        raise UserError(f"birthday embedding {config.birthday_embedding!r}: use pixels or classifier")
    result = birthday_test(lambda s, trial_seed: model.sample(s, seed=trial_seed), data.heldout.x, config.birthday,
                           seed, embed)
    closest = result.pop("closest")
    result["embedding"] = config.birthday_embedding
    result["montage"] = None
    if montage is not None and data.spec.is_image and len(closest["pairs"]):
        from gan_zoo.plots import write_pairs_png

        write_pairs_png(montage, closest["items"], closest["pairs"], closest["distances"], result["threshold"])
        result["montage"] = str(montage)
    result["closest_distances"] = closest["distances"].tolist()
    return result


def linear_probe(model: GanModel, data: LoadedDataset) -> dict:
    """Does E(x) carry the labels? Logistic regression on train codes, accuracy on held-out codes."""
    from sklearn.linear_model import LogisticRegression

    def codes(x, s):
        return model.encode_real(x, seed=s)[1].reshape(len(x), -1).numpy()

    probe = LogisticRegression(max_iter=2000).fit(codes(data.train.x, 0), data.train.labels.numpy())
    accuracy = float((probe.predict(codes(data.heldout.x, 1)) == data.heldout.labels.numpy()).mean())
    chance = torch.bincount(data.heldout.labels).max().item() / len(data.heldout.labels)
    return {"accuracy": accuracy, "chance": chance, "n_train": len(data.train.x), "n_heldout": len(data.heldout.x)}
