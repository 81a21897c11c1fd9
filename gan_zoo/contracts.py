"""What each registered thing must be, checked when a plugin registers it (not when it is first used).

`contract_problem(kind, item)` returns why `item` does not meet the contract of its kind, or None. The
registry skips a plugin with a problem and reports it like a broken plugin; gan_zoo.testing runs the deeper
behavioural checks over everything registered.
"""

from __future__ import annotations

import dataclasses
import inspect


def _config_problem(config_cls) -> str | None:
    if not dataclasses.is_dataclass(config_cls) or not isinstance(config_cls, type):
        return "has a Config that is not a dataclass"
    try:
        config_cls()
    except TypeError as exc:
        return f"has a Config without defaults for every field ({exc})"
    except Exception as exc:  # a default that fails its own validation
        return f"has a Config whose defaults are refused: {exc}"
    return None


def _overrides(cls, base, method: str) -> bool:
    return getattr(cls, method, None) is not getattr(base, method, None)


def _family(cls) -> str | None:
    from gan_zoo.family import GanModel

    if not (isinstance(cls, type) and issubclass(cls, GanModel)):
        return "is not a gan_zoo.GanModel subclass"
    for attribute in ("description", "Config"):
        if not hasattr(cls, attribute):
            return f"has no `{attribute}`"
    if cls.kind not in ("trained", "constructed"):
        return f"has kind {cls.kind!r}; use 'trained' or 'constructed'"
    if "generator" not in cls.players:
        return "has no generator among its players"
    required = ["generate"] + (["configure_optimizers", "training_step"] if cls.kind == "trained" else ["construct"])
    missing = [m for m in required if not _overrides(cls, GanModel, m)]
    if missing:
        return f"does not implement {', '.join(missing)} (a {cls.kind} family needs {', '.join(required)})"
    if "encoder" in cls.players and not _overrides(cls, GanModel, "encode"):
        return "has an encoder among its players but does not implement encode(x)"
    if cls.kind == "trained":
        steps = cls.default_steps
        values = steps.values() if isinstance(steps, dict) else [steps]
        if not all(isinstance(v, int) and v > 0 for v in values):
            return "has no positive default_steps (a number, or {'vectors': N, 'images': M})"
    return _config_problem(cls.Config)


def _dataset(item) -> str | None:
    from gan_zoo.datasets import DatasetSource

    if not isinstance(item, DatasetSource):
        return "is not a gan_zoo.DatasetSource"
    if not callable(item.load):
        return "has a `load` that is not callable"
    if not isinstance(item.latent_dim, int) or item.latent_dim < 1:
        return "has no positive latent_dim"
    return None


def _discriminator(item) -> str | None:
    from gan_zoo.discriminators import DiscriminatorClass

    if not isinstance(item, DiscriminatorClass):
        return "is not a gan_zoo.DiscriminatorClass(name, description, build)"
    if not callable(item.build) or len(inspect.signature(item.build).parameters) != 4:
        return "has a build that does not take (spec, code_dim, width, option)"
    return None


def _suite(item) -> str | None:
    from pathlib import Path

    from gan_zoo.suites import SuiteFile

    if not isinstance(item, SuiteFile):
        return "is not a gan_zoo.SuiteFile(name, path)"
    if not Path(item.path).is_file():
        return f"points at {item.path}, which is not a file"
    return None


def _metric(cls) -> str | None:
    from gan_zoo.metrics import NEEDS, WORSE, Metric

    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        return "is not a gan_zoo.Metric subclass"
    if not getattr(cls, "description", ""):
        return "has no description"
    if cls.worse not in WORSE:
        return f"declares worse = {cls.worse!r}; use 'higher' or 'lower'"
    unknown = [need for need in cls.needs if need not in NEEDS]
    if unknown:
        return f"needs {unknown[0]!r}, which is none of {', '.join(NEEDS)}"
    if not _overrides(cls, Metric, "compute"):
        return "does not implement compute(ctx, config)"
    return _config_problem(cls.Config) or _metric_app_problem(cls)


def _metric_app_problem(cls) -> str | None:
    """What the app reads of a metric (gan_zoo.metrics): declarations of the right kind, hooks that are methods."""
    from gan_zoo.metrics import CHECK_KINDS, Metric, Shortcut

    if cls.sort_key is not None and (not isinstance(cls.sort_key, str) or not cls.sort_key):
        return f"declares sort_key = {cls.sort_key!r}; name one of its columns (or row fields), or None"
    if not isinstance(cls.group, str) or not cls.group:
        return f"declares group = {cls.group!r}; give the leaderboard's header over its columns"
    if cls.check is not None and cls.check not in CHECK_KINDS:
        return f"declares check = {cls.check!r}; use one of {', '.join(CHECK_KINDS)}, or None"
    if cls.check is not None and not (cls.check_rule and _overrides(cls, Metric, "flag")):
        return f"declares check = {cls.check!r} but no check_rule in words or no flag(result, record)"
    for shortcut in cls.shortcuts:
        if not isinstance(shortcut, Shortcut) or not shortcut.flag.startswith("--"):
            return f"has a shortcut {shortcut!r} that is not a gan_zoo.Shortcut with a --flag"
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        if shortcut.setting.split(".")[0] not in fields:
            return (f"has a shortcut {shortcut.flag} for setting {shortcut.setting!r}, which its Config lacks; "
                    f"its settings: {', '.join(sorted(fields)) or 'none'}")
        if not callable(shortcut.parse):
            return f"has a shortcut {shortcut.flag} whose parse is not callable"
    hooks = ("row_fields", "table_fields", "rank", "plots", "picture", "flag", "training_line", "training_problem",
             "ladder_note")
    broken = next((hook for hook in hooks if not callable(getattr(cls, hook))), None)
    if broken:
        return f"has a {broken} that is not a method"
    return None


def _feature_space(cls) -> str | None:
    from gan_zoo.features import FeatureSpace

    if not (isinstance(cls, type) and issubclass(cls, FeatureSpace)):
        return "is not a gan_zoo.FeatureSpace subclass"
    if not getattr(cls, "description", ""):
        return "has no description"
    if not _overrides(cls, FeatureSpace, "load"):
        return "does not implement load(data, option, config, device)"
    return _config_problem(cls.Config)


def _adversary(cls) -> str | None:
    from gan_zoo.adversaries import NEEDS, Adversary

    if not (isinstance(cls, type) and issubclass(cls, Adversary)):
        return "is not a gan_zoo.harness.adversaries.Adversary subclass"
    if not getattr(cls, "description", ""):
        return "has no description"
    if cls.harder not in ("lower", "higher"):
        return f"declares harder = {cls.harder!r}; use 'lower' or 'higher'"
    unknown = [need for need in cls.needs if need not in NEEDS]
    if unknown:
        return f"needs {unknown[0]!r}, which is none of {', '.join(NEEDS)}"
    if not _overrides(cls, Adversary, "make"):
        return "does not implement make(fresh, data, strength, config, generator)"
    return _config_problem(cls.Config)


CHECKS = {"families": _family, "datasets": _dataset, "discriminators": _discriminator, "suites": _suite,
          "metrics": _metric, "feature_spaces": _feature_space, "adversaries": _adversary}


def contract_problem(kind: str, item) -> str | None:
    return CHECKS[kind](item)
