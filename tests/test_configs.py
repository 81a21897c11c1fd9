"""Every config checks its own values on construction: one line naming the field, the value and what is allowed,
raised wherever the values enter (Python, --set, a suite file), before anything is allocated."""

import dataclasses
import typing

import pytest
import torch
from click.testing import CliRunner

from gan_zoo.app.cli import main
from gan_zoo.config import SettingError, Text, apply_overrides, typed
from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec
from gan_zoo.harness.birthday import BirthdayConfig
from gan_zoo.harness.ensemble import EnsembleConfig
from gan_zoo.harness.inception import ClassifierConfig
from gan_zoo.plugins.builtin_metrics import (
    BirthdayMetricConfig,
    FrechetConfig,
    InceptionScoreConfig,
    ModesConfig,
    NNDistanceConfig,
)
from gan_zoo.plugins.ed_memorizer import EDMemorizer, EDMemorizerConfig, ReLUMemorizerConfig
from gan_zoo.plugins.memorizer import GaussianMemorizerConfig, Memorizer, MemorizerConfig
from gan_zoo.plugins.mix import MixConfig
from gan_zoo.plugins.vanilla import VanillaConfig
from gan_zoo.plugins.wgan import WGANConfig, WGANGPConfig
from gan_zoo.registry import registry

BAD = [
    # the adversarial families' players and optimizers
    (VanillaConfig, "width", 0, "width = 0: must be a whole number from 1 to 1048576"),
    (VanillaConfig, "width", True, "width = True: must be a whole number"),
    (VanillaConfig, "width", 2**21, "width = 2097152: must be a whole number from 1 to 1048576"),
    (VanillaConfig, "width", 2**17, "hidden layers would hold"),
    (VanillaConfig, "depth", -1, "depth = -1: must be a whole number from 0"),
    (VanillaConfig, "channels", 0, "channels = 0: must be a whole number from 1"),
    (VanillaConfig, "latent_dim", 1.5, "latent_dim = 1.5: must be a whole number"),
    (VanillaConfig, "lr", 0.0, "lr = 0.0: must be a finite number > 0"),
    (VanillaConfig, "lr", float("nan"), "lr = nan: must be a finite number > 0"),
    (VanillaConfig, "lr", "fast", "lr = 'fast': must be a finite number"),
    (VanillaConfig, "lr", 10**400, "lr = 1000000"),
    (VanillaConfig, "beta1", 1.0, "beta1 = 1.0: must be a finite number in [0, 1)"),
    (VanillaConfig, "loss", "hinge", "loss must be one of non-saturating, minimax, not 'hinge'"),
    (VanillaConfig, "lr_schedule", "cosine", "lr_schedule must be one of auto, constant, linear, not 'cosine'"),
    (VanillaConfig, "batch_size", -1, "batch_size = -1: must be a whole number from 0"),
    (WGANConfig, "critic_steps", 0, "critic_steps = 0: must be a whole number >= 1"),
    (WGANConfig, "critic_steps", 10**6, "critic_steps = 1000000: with batch_size = 64 a step would draw"),
    (WGANConfig, "clip", 0.0, "clip = 0.0: must be a finite number > 0"),
    (WGANConfig, "lr", 0.0, "lr = 0.0: must be a finite number > 0"),
    (WGANGPConfig, "lr", -1e-4, "lr = -0.0001: must be a finite number >= 0"),
    (WGANGPConfig, "gp_weight", float("inf"), "gp_weight = inf: must be a finite number >= 0"),
    (WGANGPConfig, "beta2", 1.5, "beta2 = 1.5: must be a finite number in [0, 1)"),
    (MixConfig, "k", 0, "k = 0: must be a whole number from 1 to 1024"),
    (MixConfig, "entropy_weight", -0.1, "entropy_weight = -0.1: must be a finite number >= 0"),
    (MixConfig, "base", "", "base = '': must be a non-empty string"),
    (MixConfig, "base_settings", "width", "'width' is not key=value"),
    # the constructions
    (MemorizerConfig, "m", 0, "m = 0: must be a whole number from 1 to 1000000000"),
    (MemorizerConfig, "m", 10**10, "m = 10000000000: must be a whole number from 1 to 1000000000"),
    (MemorizerConfig, "capacity", -1, "capacity = -1: must be a whole number >= 0"),
    (MemorizerConfig, "capacity", 1, "capacity = 1: must give 1 <= m = C p log p / eps^2 <= 10^9"),
    (MemorizerConfig, "capacity", 10**9, "but gives m = 2.072e+12"),
    (MemorizerConfig, "capacity", 10**400, "but gives m = inf"),
    (MemorizerConfig, "eps", 0.0, "eps = 0.0: must be a finite number > 0"),
    (MemorizerConfig, "C", 0.0, "C = 0.0: must be a finite number > 0"),
    (GaussianMemorizerConfig, "bandwidth", -1.0, "bandwidth = -1.0: must be a finite number >= 0"),
    (EDMemorizerConfig, "m", 10**9, "m = 1000000000: must be a whole number from 1 to 100000000"),
    (EDMemorizerConfig, "latent_dim", -1, "latent_dim = -1: must be a whole number from 0"),
    (ReLUMemorizerConfig, "m", 10_000, "m = 10000: must be a whole number from 1 to 8192 for relu-memorizer"),
    (ReLUMemorizerConfig, "delta", 1.0, "delta = 1.0: must be a finite number in (0, 1)"),
    (ReLUMemorizerConfig, "delta", 0.0, "delta = 0.0: must be a finite number in (0, 1)"),
    # the harness
    (BirthdayConfig, "sizes", (), "sizes = (): must be a non-empty list of strictly increasing whole numbers"),
    (BirthdayConfig, "sizes", (10, 20, 20), "sizes = (10, 20, 20): must be a non-empty list of strictly increasing"),
    (BirthdayConfig, "sizes", (0, 10), "sizes = (0, 10)"),
    (BirthdayConfig, "trials", 0, "trials = 0: must be a whole number >= 1"),
    (BirthdayConfig, "trials", 10**6, "trials = 1000000: with s up to 2560 one level would draw"),
    (BirthdayConfig, "threshold_quantile", 1.0, "threshold_quantile = 1.0: must be a finite number in (0, 1)"),
    (BirthdayConfig, "threshold_fraction", 0.0, "threshold_fraction = 0.0: must be a finite number > 0"),
    (BirthdayConfig, "ci_level", 0.0, "ci_level = 0.0: must be a finite number in (0, 1)"),
    (BirthdayConfig, "chunk", 0, "chunk = 0: must be a whole number from 1"),
    (BirthdayConfig, "min_trials", 0, "min_trials = 0: must be a whole number >= 1"),
    (BirthdayMetricConfig, "trials", -3, "trials = -3"),
    (BirthdayMetricConfig, "features", "", "features = '': must be a non-empty string"),
    (ClassifierConfig, "steps", 0, "steps = 0: must be a whole number >= 1"),
    (ClassifierConfig, "batch_size", 0, "batch_size = 0: must be a whole number from 1"),
    (ClassifierConfig, "lr", -1.0, "lr = -1.0: must be a finite number > 0"),
    (ClassifierConfig, "min_size", 0, "min_size = 0: must be a whole number from 1"),
    (NNDistanceConfig, "capacities", (), "capacities = (): must be a non-empty list of whole numbers"),
    (NNDistanceConfig, "capacities", (1000, 0), "capacities = (1000, 0)"),
    (NNDistanceConfig, "capacities", (10**10,), "from 1 to 1000000000"),
    (NNDistanceConfig, "capacities", (float("inf"),), "capacities = (inf,)"),
    (NNDistanceConfig, "margin", -0.01, "margin = -0.01: must be a finite number"),
    (NNDistanceConfig, "ensemble", EnsembleConfig(phi="exp"), "ensemble.phi must be one of log, identity, not 'exp'"),
    (NNDistanceConfig, "ensemble", EnsembleConfig(members=0), "ensemble.members = 0"),
    (InceptionScoreConfig, "samples", 0, "samples = 0: must be a whole number from 1"),
    (InceptionScoreConfig, "splits", 0, "splits = 0: must be a whole number >= 1"),
    (InceptionScoreConfig, "splits", 6000, "splits = 6000: must be at most samples = 5000"),
    (ModesConfig, "samples", 0, "samples = 0: must be a whole number from 1"),
    (FrechetConfig, "features", None, "features = None: must be a non-empty string"),
]


@pytest.mark.parametrize("cls, name, value, fragment", BAD,
                         ids=[f"{cls.__name__}.{name}={value!r}"[:60] for cls, name, value, _ in BAD])
def test_a_bad_value_is_refused_in_one_line_naming_it(cls, name, value, fragment):
    with pytest.raises(UserError) as refused:
        cls(**{name: value})
    message = str(refused.value)
    assert fragment in message and "\n" not in message, message


def every_config_class():
    reg = registry()
    classes = [f.Config for f in reg.families.values()] + [m.Config for m in reg.metrics.values() if m.Config]
    return classes + [BirthdayConfig, ClassifierConfig, EnsembleConfig]


def test_every_default_constructs_and_survives_its_own_checks():
    for cls in every_config_class():
        config = cls()
        values = dataclasses.asdict(config)
        assert typed(cls, values, str) == config, cls  # a suite's table of the defaults
        assert dataclasses.replace(config) == config
        if not any(dataclasses.is_dataclass(getattr(config, f.name)) for f in dataclasses.fields(cls)):
            assert typed(cls, values, str, exact=True) == config  # a checkpoint's config (flat: families' configs)


def test_values_are_normalised_by_type():
    config = VanillaConfig(lr=1, beta1=0)  # an int where a float is meant is taken as one
    assert isinstance(config.lr, float) and isinstance(config.beta1, float)
    assert BirthdayConfig(sizes=[5, 50]).sizes == (5, 50)  # a list becomes the tuple the field holds
    assert WGANGPConfig(lr=0.0).lr == 0.0 and WGANGPConfig(gp_weight=0.0).gp_weight == 0.0  # 0: auto
    assert VanillaConfig(depth=0).depth == 0 and VanillaConfig(batch_size=0).batch_size == 0


def test_set_overrides_surface_the_one_line_error():
    with pytest.raises(UserError, match=r"^width = 0: must be a whole number from 1 to 1048576$"):
        apply_overrides(VanillaConfig(), ["width=0"])
    with pytest.raises(UserError, match=r"^capacity = 10000000000: must give 1 <= m"):
        apply_overrides(MemorizerConfig(), ["capacity=10000000000"])
    with pytest.raises(UserError, match=r"^delta = 2\.0: must be a finite number in \(0, 1\)$"):
        apply_overrides(ReLUMemorizerConfig(), ["delta=2"])
    assert apply_overrides(WGANGPConfig(), ["lr=0", "critic_steps=2"]).critic_steps == 2


def test_the_cli_prints_it_as_one_line(tmp_path):
    result = CliRunner().invoke(main, ["train", "vanilla", "--dataset", "ring8", "--set", "depth=-2",
                                       "--out", str(tmp_path)], catch_exceptions=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0 and lines == ["gan-zoo: error: depth = -2: must be a whole number from 0 to 1024"]


def test_suite_tables_surface_the_one_line_error():
    with pytest.raises(UserError, match=r"^sizes = \(20, 10\): must be a non-empty list of strictly increasing"):
        typed(BirthdayMetricConfig, {"sizes": [20, 10]}, str)
    with pytest.raises(UserError, match=r"^ensemble\.phi must be one of log, identity, not 'exp'$"):
        typed(NNDistanceConfig, {"ensemble": {"phi": "exp"}}, str)
    with pytest.raises(UserError, match=r"^capacities = \(0,\): must be a non-empty list of whole numbers"):
        typed(NNDistanceConfig, {"capacities": [0]}, str)
    with pytest.raises(UserError, match=r"^k = 0: must be a whole number from 1 to 1024$"):
        typed(MixConfig, {"k": 0}, str)
    with pytest.raises(UserError, match=r"^threshold_quantile = 0\.0: must be a finite number in \(0, 1\)$"):
        typed(BirthdayMetricConfig, {"threshold_quantile": 0}, str)


def test_mix_names_a_bad_base_setting():
    with pytest.raises(UserError, match=r"^mix base_settings: width = 0: must be a whole number"):
        registry().family("mix")(MixConfig(base_settings="width=0"), DataSpec((2,), 2))


def test_a_huge_memorizer_is_refused_before_its_rows_are_allocated():
    with pytest.raises(UserError, match=r"^memorizer: m = 1000000000 items of 3072 numbers would take 1.14e\+04 GiB"):
        Memorizer(MemorizerConfig(m=10**9), DataSpec((3, 32, 32), 64))


def test_a_memorizer_on_duplicate_items_records_its_distinct_support():
    distinct = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    train = distinct.repeat(5, 1)  # 50 rows, 10 different items
    model = Memorizer(MemorizerConfig(m=50), DataSpec((3,), 2))
    model.construct(train, seed=0)
    assert model.facts() == {"support": 10, "rows": 50}
    assert len(torch.unique(model.sample(2000, seed=1), dim=0)) == 10
    loaded = Memorizer(MemorizerConfig(m=50), DataSpec((3,), 2))
    loaded.load_state_dict(model.state_dict())
    assert loaded.facts() == {"support": 10, "rows": 50}  # counted again from the rows a checkpoint holds

    unique = Memorizer(MemorizerConfig(m=10), DataSpec((3,), 2))
    unique.construct(distinct, seed=0)
    assert unique.facts() == {"support": 10, "rows": 10}


def test_an_ed_memorizer_counts_items_equal_but_for_the_noised_coordinates_once():
    spec = DataSpec((4,), 1)
    items = torch.tensor([[0.0, 1, 2, 3], [9.0, 1, 2, 3], [0.0, 5, 6, 7], [0.0, 5, 6, 7]])  # coordinate 0 is noise
    model = EDMemorizer(EDMemorizerConfig(m=4, latent_dim=1), spec)
    model.construct(items, seed=0)
    assert model.noise_positions.tolist() == [0]
    assert model.facts()["support"] == 2 and model.facts()["rows"] == 4


# -- the one parser: every route (a suite's TOML, Python, a checkpoint's JSON, command-line text) goes through typed

@dataclasses.dataclass
class Inner:
    members: int = 3


@dataclasses.dataclass
class Every:
    """A field of each type hint a config may use."""

    rate: float = 0.1
    width: int = 4
    name: str = "x"
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    pair: tuple[int, str] = (1, "a")
    names: list[str] = dataclasses.field(default_factory=list)
    limit: int | None = None
    rates: dict[str, float] = dataclasses.field(default_factory=dict)
    mode: typing.Literal["fast", "slow"] = "fast"
    inner: Inner = dataclasses.field(default_factory=Inner)


def text(**values):
    return {key: Text(value) for key, value in values.items()}


def test_command_line_text_is_parsed_by_each_fields_type():
    config = typed(Every, {**text(rate="1e-3", width="1e3", name="1,2", flag="yes", sizes="10, 20,", names="a,b",
                                  limit="none", mode="slow", pair="2,b"), "inner": text(members="5")})
    assert config == Every(rate=0.001, width=1000, name="1,2", flag=True, sizes=(10, 20), pair=(2, "b"),
                           names=["a", "b"], limit=None, mode="slow", inner=Inner(5))
    assert type(config.name) is str and typed(Every, text(limit="7")).limit == 7


def test_plain_values_keep_their_types_and_exact_ones_refuse_a_whole_float():
    config = typed(Every, {"width": 4.0, "rate": 1, "sizes": [1e3], "limit": None, "rates": {"a": 2}})
    assert (config.width, config.rate, config.sizes, config.rates) == (4, 1.0, (1000,), {"a": 2.0})
    assert type(config.width) is int and type(config.rate) is float
    with pytest.raises(SettingError, match=r"^width: width takes a whole number, not 4\.0$") as refused:
        typed(Every, {"width": 4.0}, exact=True)  # a checkpoint: gan-zoo wrote an int there
    assert (refused.value.key, refused.value.value, refused.value.wanted) == ("width", 4.0, "a whole number")


@pytest.mark.parametrize("values, message", [
    (text(rate="fast"), "rate: rate takes a float, not 'fast'"),
    (text(width="four"), "width: width takes an int, not 'four'"),
    (text(width="1.5"), "width: width takes a whole number, not 1.5"),
    (text(flag="maybe"), "flag: flag takes true or false, not 'maybe'"),
    (text(rate="inf"), "rate: rate takes a finite number, not inf"),
    (text(sizes="1,x"), "sizes: sizes takes an int, not 'x'"),
    (text(pair="1,b,c"), "pair: pair takes a list of 2, not ['1', 'b', 'c']"),
    (text(limit="lots"), "limit: limit takes an int, not 'lots'"),
    (text(mode="medium"), "mode: mode takes one of 'fast', 'slow', not 'medium'"),
    (text(rates="a"), "rates: rates takes a table, not 'a'"),
    ({"inner": Text("3")}, "inner: expected a table of settings"),
    ({"rate": "0.1"}, "rate: rate takes a finite number, not '0.1'"),
    ({"width": True}, "width: width takes a whole number, not True"),
    ({"rate": 10**400}, "rate: rate takes a finite number, not 1000000"),  # beyond any float
    ({"sizes": 5}, "sizes: sizes takes a list, not 5"),
    ({"limit": "7"}, "limit: limit takes a whole number, not '7'"),
    ({"mode": 1}, "mode: mode takes one of 'fast', 'slow', not 1"),
    ({"rates": {"a": "b"}}, "rates.a: rates.a takes a finite number, not 'b'"),
    ({"inner": {"members": 1.5}}, "inner.members: inner.members takes a whole number, not 1.5"),
    ({"widht": 3}, "widht: no setting 'widht'; did you mean 'width'? settings: rate, width, name"),
    ({"inner": {"member": 3}}, "inner.member: no setting 'inner.member'; did you mean 'members'? settings: members"),
])
def test_each_route_refuses_in_one_line_naming_the_setting(values, message):
    with pytest.raises(SettingError) as refused:
        typed(Every, values)
    assert str(refused.value).startswith(message), str(refused.value)


def test_overrides_start_from_the_config_given_and_name_the_option():
    config = apply_overrides(VanillaConfig(width=32), ["lr = 1e-3", "loss=minimax"])
    assert (config.width, config.lr, config.loss) == (32, 0.001, "minimax")
    with pytest.raises(UserError, match=r"^--set 'width': expected key=value"):
        apply_overrides(VanillaConfig(), ["width"])
    with pytest.raises(UserError, match=r"^--set lr: lr takes a float, not 'fast'$"):
        apply_overrides(VanillaConfig(), ["lr=fast"])


def test_annotations_a_plugin_cannot_resolve_leave_those_fields_to_its_own_checks():
    namespace = {}
    exec("from __future__ import annotations\nimport dataclasses\n@dataclasses.dataclass\nclass Odd:\n"
         "    count: int = 1\n    thing: Undefined = None\n", namespace)
    assert typed(namespace["Odd"], {"count": 2, "thing": 5}) == namespace["Odd"](2, 5)  # given as they are
    with pytest.raises(SettingError, match="no setting 'other'"):
        typed(namespace["Odd"], {"other": 5})
