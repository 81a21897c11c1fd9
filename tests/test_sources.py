"""Judging any generator: every kind of source, the finite-source rules, the Python API, bad input."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import save_file

from gan_zoo import evaluate
from gan_zoo.app.cli import main
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.registry import registry

from .conftest import make_distribution, run_cli

TINY = {"birthday": {"sizes": [10, 20, 40, 80], "trials": 3},
        "nn_distance": {"capacities": [300], "max_items": 150, "ensemble": {"members": 2, "steps": 30}},
        "fd": {"features": "pixels"}}


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def as_uint8(x: torch.Tensor) -> np.ndarray:
    """Items in [-1, 1] -> uint8 pixels, N,C,H,W."""
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()


@pytest.fixture(scope="module")
def memorised(digits):
    """600 draws (with replacement) from 40 training digits: a generator of known support 40, as uint8."""
    rng = np.random.default_rng(0)
    return as_uint8(digits.train.x[:40])[rng.integers(0, 40, 600)]


def write_folder(folder, pixels):
    folder.mkdir(parents=True)
    for i, image in enumerate(pixels):  # nested folders are read too, in sorted path order
        (folder / f"part{i // 100}").mkdir(exist_ok=True)
        Image.fromarray(image[0]).save(folder / f"part{i // 100}" / f"{i:04d}.png")
    return folder


def metrics_of(source, **options):
    record = evaluate(source, dataset="digits", metrics=["birthday", "fd", "nn_distance"], seed=3, **TINY, **options)
    assert record["errors"] == {}, record["errors"]
    return record


def test_a_folder_is_read_into_one_array_with_progress(tmp_path, monkeypatch):
    import gan_zoo.harness.sources as sources

    pixels = np.random.default_rng(0).integers(0, 256, (230, 1, 8, 8), dtype=np.uint8)
    folder = write_folder(tmp_path / "folder", pixels)
    heard = []
    read, paths = sources.read_image_folder(folder, heard.append)
    assert read.shape == (230, 8, 8, 1) and np.array_equal(read[..., 0], pixels[:, 0]) and len(paths) == 230
    assert heard == [f"reading {folder}: 230/230 images"]  # a fast read: only the end
    monkeypatch.setattr(sources, "PROGRESS_SECONDS", 0.0)
    heard.clear()
    sources.read_image_folder(folder, heard.append)
    assert heard[0] == f"reading {folder}: 2/230 images" and heard[-1].endswith("230/230 images")
    assert len(heard) == 230  # every image after the first, and the end


def test_the_same_samples_as_a_folder_an_array_file_a_samples_file_or_a_tensor_give_identical_numbers(
        memorised, tmp_path):
    np.save(tmp_path / "nchw.npy", memorised)
    np.savez(tmp_path / "nhwc.npz", samples=memorised.transpose(0, 2, 3, 1))
    np.save(tmp_path / "nhw.npy", memorised[:, 0])
    np.save(tmp_path / "unit.npy", memorised.astype(np.float32) / 255)  # float in [0, 1]
    save_file({"samples": torch.from_numpy(memorised.astype(np.float32) / 127.5 - 1)}, tmp_path / "s.safetensors")
    sources = [write_folder(tmp_path / "folder", memorised), tmp_path / "nchw.npy", tmp_path / "nhwc.npz",
               tmp_path / "nhw.npy", tmp_path / "unit.npy", tmp_path / "s.safetensors", torch.from_numpy(memorised)]
    records = [metrics_of(source) for source in sources]
    assert [r["source"]["kind"] for r in records] == ["folder", "array", "array", "array", "array", "samples",
                                                      "tensor"]
    assert all(r["source"]["finite"] and r["source"]["size"] == 600 for r in records)
    assert records[4]["source"]["range_rule"].startswith("detected [0, 1]")
    first = rounded(records[0]["metrics"])
    for record in records[1:]:  # the same items, up to float rounding in how each kind is scaled to [-1, 1]
        assert rounded(record["metrics"]) == first, record["source"]["kind"]


def rounded(value):
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return float(f"{value:.4g}") if isinstance(value, float) else value


def test_an_array_file_of_draws_from_m_items_gives_a_collision_interval_covering_m(memorised, tmp_path):
    np.save(tmp_path / "m40.npy", memorised)
    record = evaluate(str(tmp_path / "m40.npy"), dataset="digits", metrics=["birthday"],
                      birthday={"trials": 5})
    birthday = record["metrics"]["birthday"]
    assert birthday["ci"][0] <= 40 <= birthday["ci"][1] and birthday["support"]["kind"] == "estimate"
    assert birthday["counted_over"] == "all 600 items once" and birthday["pairs_examined"] == 600 * 599 // 2


def test_a_callable_over_a_model_gives_the_model_s_numbers(tmp_path):
    from gan_zoo.training import construct

    ring8 = open_dataset(registry().dataset("ring8"), seed=0)
    family = registry().family("gaussian-memorizer")
    model = construct(family, family.Config(m=30), ring8, 0, torch.device("cpu"))
    settings = {"metrics": ["birthday", "modes", "nn_distance"], "seed": 1, **TINY}
    del settings["fd"]
    direct = evaluate(model, dataset="ring8", **settings)
    wrapped = evaluate(lambda n, seed: model.sample(n, seed), dataset="ring8", **settings)
    assert direct["source"]["finite"] is False and wrapped["source"]["kind"] == "callable"
    assert wrapped["metrics"] == direct["metrics"]


def test_fresh_real_items_given_as_a_folder_sit_at_the_noise_floor(digits, tmp_path):
    """Training items the neural-net distance does not use (it takes the first 2 x max_items) are fresh real data."""
    folder = write_folder(tmp_path / "real", as_uint8(digits.train.x[400:1200]))
    entry = evaluate(str(folder), dataset="digits", metrics=["nn_distance"], seed=0,
                     nn_distance={"capacities": [1000], "max_items": 200,
                                  "ensemble": {"members": 4, "steps": 100}})["metrics"]["nn_distance"]["capacities"][0]
    assert entry["ci"][0] <= entry["noise_floor_ci"][1] and entry["noise_floor_ci"][0] <= entry["ci"][1]
    assert abs(entry["heldout_gap"] - entry["noise_floor"]) < 0.05


def test_a_python_file_callable_and_a_module_with_latent_dim(tmp_path):
    (tmp_path / "gen.py").write_text(
        "import torch\n"
        "def sample(n, seed):\n"
        "    return torch.rand(n, 8, 8, generator=torch.Generator().manual_seed(seed))\n"
        "class Net(torch.nn.Module):\n"
        "    latent_dim = 4\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.linear = torch.nn.Linear(4, 64)\n"
        "    def forward(self, z):\n"
        "        return torch.tanh(self.linear(z)).view(-1, 1, 8, 8)\n"
        "NET = Net()\n")
    record = evaluate(f"{tmp_path}/gen.py:sample", dataset="digits", metrics=["fd"], fd={"features": "pixels"})
    assert record["source"]["kind"] == "callable" and record["source"]["range_rule"].startswith("detected [0, 1]")
    module = evaluate(f"{tmp_path}/gen.py:NET", dataset="digits", metrics=["fd"], fd={"features": "pixels"})
    assert module["source"]["kind"] == "module" and "latent_dim" not in module["errors"]
    assert module["source"]["called_as"].startswith("forward(z)")


def test_a_python_file_callable_imports_its_siblings_as_a_script_would(tmp_path):
    (tmp_path / "sibling_weights.py").write_text("SCALE = 0.5\n")
    (tmp_path / "gen.py").write_text(
        "import torch\n"
        "from sibling_weights import SCALE\n"
        "def sample(n, seed):\n"
        "    return SCALE * torch.rand(n, 8, 8, generator=torch.Generator().manual_seed(seed))\n")
    record = evaluate(f"{tmp_path}/gen.py:sample", dataset="digits", metrics=["fd"], fd={"features": "pixels"})
    assert not record["errors"] and record["metrics"]["fd"]["value"] > 0


BAD = [
    ("empty folder", lambda p: (p / "empty").mkdir() or p / "empty", "no .png, .jpg or .jpeg files"),
    ("corrupt image", lambda p: write_bytes(p / "bad" / "a.png", b"\x89PNG\r\n\x1a\nnot really"), "not a readable"),
    ("mixed sizes", lambda p: mixed_folder(p), "give images of one size"),
    ("object array", lambda p: save_objects(p / "o.npy"), "never unpickled"),
    ("NaN samples", lambda p: save_array(p / "nan.npy", np.full((50, 8, 8), np.nan, np.float32)),
     "50 of 50 items hold NaN or inf"),
    ("wrong size", lambda p: save_array(p / "big.npy", np.zeros((50, 1, 16, 16), np.uint8)),
     "images of shape (1, 16, 16) (C,H,W), but the data set's are (1, 8, 8)"),
    ("no image range", lambda p: save_array(p / "range.npy", np.full((50, 8, 8), 300.0, np.float32)),
     "no image range"),
    ("not importable", lambda p: write_text(p / "g.py", "import not_a_module_anywhere\n") + ":sample",
     "raised ModuleNotFoundError"),
    ("no such function", lambda p: write_text(p / "g.py", "x = 1\n") + ":sample", "has no attribute 'sample'"),
    ("callable raises", lambda p: write_text(p / "g.py", "def sample(n, seed):\n    raise ValueError('nope')\n")
     + ":sample", "raised ValueError: nope"),
    ("wrong count", lambda p: write_text(p / "g.py", "import numpy\ndef sample(n, seed):\n"
                                         "    return numpy.zeros((n + 1, 8, 8))\n") + ":sample", "return"),
    ("shape per call", lambda p: write_text(p / "g.py", "import numpy\nCALLS = []\ndef sample(n, seed):\n"
                                            "    CALLS.append(n)\n"
                                            "    return numpy.zeros((n, 8, 8) if len(CALLS) == 1 else (n, 64))\n")
     + ":sample", "every call must give items of one shape"),
]


def write_bytes(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path.parent


def write_text(path, text):
    path.write_text(text)
    return str(path)


def save_array(path, array):
    np.save(path, array)
    return path


def save_objects(path):
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return path


def mixed_folder(p):
    folder = p / "mixed"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((9, 9), np.uint8)).save(folder / "b.png")
    return folder


@pytest.mark.parametrize("case, make, fragment", BAD, ids=[case for case, _, _ in BAD])
def test_bad_sources_are_one_line_errors_and_change_no_file(tmp_path, case, make, fragment):
    source = str(make(tmp_path))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = CliRunner().invoke(main, ["eval", source, "--dataset", "digits", "--metrics", "birthday,fd,modes",
                                       "-o", "birthday.trials=2", "-o", "fd.features=pixels"])
    lines = result.output.strip().splitlines()
    refused = [line for line in lines if "refused" in line or line.startswith("gan-zoo: error:")]
    assert result.exit_code in (1, 2) and refused and fragment in refused[0], result.output
    assert all(len(line) < 300 for line in refused) and "Traceback" not in result.output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_open_source_points_a_checkpoint_to_what_judges_it(tmp_path):
    from gan_zoo.checkpoint import load_model, read_checkpoint
    from gan_zoo.harness.sources import open_source
    from gan_zoo.training import run

    reg, cpu = registry(), torch.device("cpu")
    ring8 = open_dataset(reg.dataset("ring8"), seed=0)
    made = run(reg, "memorizer", reg.family("memorizer").Config(m=10), ring8, out=tmp_path, seed=0, steps=0,
               device=cpu)
    with pytest.raises(UserError, match=r"pass the path to gan_zoo\.evaluate, or the model "
                                        r"gan_zoo\.checkpoint\.load_model\(read_checkpoint\(path\), registry\)"):
        open_source(str(made.checkpoint), ring8, reg, device=cpu)
    model = load_model(read_checkpoint(made.checkpoint), reg)  # what the message names, as it names it
    assert open_source(model, ring8, reg, device=cpu).draw(5, seed=0).shape == (5, 2)
    assert evaluate(str(made.checkpoint), metrics=["modes"])["source"]["kind"] == "checkpoint"


def test_fewer_samples_than_a_protocol_needs_is_cut_or_refused_with_the_reason(memorised, tmp_path):
    np.save(tmp_path / "few.npy", memorised[:15])
    record = evaluate(str(tmp_path / "few.npy"), dataset="digits", metrics=["birthday", "fd", "nn_distance"], **TINY)
    assert "fewer than 2 trials of s = 10" in record["errors"]["birthday"]
    assert record["metrics"]["fd"]["n"] == 15  # the largest n that fits, stated
    assert record["metrics"]["nn_distance"]["cut"].startswith("cut to 7+7 items (asked 150+150)")


def test_resize_opts_into_resizing_and_records_how(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (60, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "rgb16.npy", pixels)
    record = evaluate(str(tmp_path / "rgb16.npy"), dataset="digits", metrics=["fd"], resize=True,
                      fd={"features": "pixels"})
    assert record["source"]["conversions"] == ["channels converted 3->1",
                                               "resized 16x16 -> 8x8 (bilinear, antialiased)"]


def test_the_api_refuses_bad_settings_before_drawing_anything():
    calls = []
    with pytest.raises(UserError, match="no setting 'birthday.trails'"):
        evaluate(lambda n, seed: calls.append(n), dataset="digits", metrics=["birthday"], birthday={"trails": 3})
    with pytest.raises(UserError, match="unknown metric 'fid'"):
        evaluate(lambda n, seed: calls.append(n), dataset="digits", metrics=["fid"])
    assert calls == []


METRIC_PLUGIN = """
    from dataclasses import dataclass
    from gan_zoo import Metric, hookimpl

    @dataclass
    class Config:
        samples: int = 100

    class Brightness(Metric):
        name = "brightness"
        description = "mean item value (a test plugin)"
        Config = Config
        worse = "higher"

        def compute(self, ctx, config):
            n = ctx.available(config.samples)
            return {"value": float(ctx.samples(n).mean()), "n": n}

    @hookimpl
    def register_metrics(register):
        register(Brightness)
"""


def test_a_third_party_metric_shows_up_in_eval_and_in_the_leaderboard(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "gan-zoo-brightness", "0.1", {"brightness_metric": METRIC_PLUGIN},
                      {"brightness": "brightness_metric"})
    env = {"PYTHONPATH": str(site), "GAN_ZOO_CACHE": str(tmp_path / "cache")}
    listed = run_cli("metrics", "--json", env_extra=env)
    assert next(m for m in json.loads(listed.stdout) if m["name"] == "brightness")["plugin"].startswith("brightness")
    shown = run_cli("eval", "memorizer", "--dataset", "ring8", "--set", "m=10", "--metrics", "brightness,modes",
                    "-o", "brightness.samples=50", env_extra=env)
    assert "brightness: " in shown.stdout and "(higher is worse)" in shown.stdout
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\ndatasets = ["ring8"]\n[eval]\nmetrics = ["brightness", "modes"]\n'
                     '[[family]]\nname = "memorizer"\nset = {m = 10}\n'
                     '[[source]]\nsource = "pts.npy"\nlabel = "my points"\n')
    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(3000, 2)).astype(np.float32))
    run_cli("bench", suite, "--out", tmp_path / "out", env_extra=env)
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    ring = board["datasets"]["ring8"]
    assert {"key": "brightness", "header": "brightness"} in ring["columns"]
    assert {row["label"] for row in ring["rows"]} == {"memorizer (m=10)", "my points"}
    assert all(row["cells"]["brightness"]["mean"] is not None for row in ring["rows"])
    assert "brightness" in (tmp_path / "out" / "leaderboard.md").read_text()
