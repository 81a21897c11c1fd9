import json
import re

import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file

from gan_zoo.app.cli import main

from .conftest import make_distribution, run_cli

COMMANDS = ["plugins", "families", "datasets", "metrics", "features", "discriminators", "train", "sample", "eval",
            "suites", "bench", "report", "cache"]


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Example:" in result.output and "gan-zoo " + command in result.output


def test_listings_as_json():
    plugins = json.loads(invoke("plugins", "--json").output)
    vanilla = next(p for p in plugins if p["name"] == "vanilla")
    assert vanilla["distribution"] == "gan-zoo" and vanilla["version"] and vanilla["registers"]["families"]
    families = json.loads(invoke("families", "--json").output)
    assert {"name": "vanilla", "kind": "trained"}.items() <= next(f for f in families if f["name"] == "vanilla").items()
    datasets = {d["name"] for d in json.loads(invoke("datasets", "--json").output)}
    builtin = {"ring8", "grid25", "digits", "stacked-digits", "mnist", "fashion-mnist", "cifar10", "image-folder"}
    assert builtin <= datasets


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gan-zoo: error: "), result.output
    assert len(re.sub(r"/tmp/\S+", "/tmp/x", lines[0])) < 200, lines[0]  # temporary paths aside: a short line
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_inputs_give_one_line_errors(tmp_path):
    assert_one_line_error(invoke("train", "vanila", "--dataset", "ring8", "--out", tmp_path),
                          "did you mean 'vanilla'")
    assert_one_line_error(invoke("train", "vanilla", "--dataset", "ring9", "--out", tmp_path), "'ring8'")
    assert_one_line_error(invoke("train", "vanilla", "--dataset", "ring8", "--set", "lr=fast", "--out", tmp_path),
                          "lr takes a float")
    assert_one_line_error(invoke("train", "vanilla", "--dataset", "ring8", "--set", "widht=3", "--out", tmp_path),
                          "did you mean 'width'")
    assert_one_line_error(invoke("train", "vanilla", "--dataset", "ring8", "--set", "loss=hinge", "--out", tmp_path),
                          "loss must be one of")
    assert_one_line_error(invoke("train", "vanilla", "--dataset", "mnist", "--data-root", tmp_path), "IDX")
    (tmp_path / "x.safetensors").write_bytes(b"\x80\x04junk")
    assert_one_line_error(invoke("sample", tmp_path / "x.safetensors", "--out", tmp_path / "s.png"),
                          "not a readable safetensors file")
    assert_one_line_error(invoke("sample", tmp_path / "x.safetensors", "--out", tmp_path / "s.jpg"), ".png")
    if not torch.cuda.is_available():
        assert_one_line_error(invoke("train", "vanilla", "--dataset", "ring8", "--device", "cuda"), "no CUDA")
    assert not (tmp_path / "s.png").exists()


def test_train_sample_eval_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "vanilla", "--dataset", "ring8", "--steps", "30", "--seed", "2", "--out", out,
                     "--set", "width=32", "--checkpoint-every", "10")
    assert f"checkpoint: {out / 'model.safetensors'}" in result.stdout and "modes captured:" in result.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["seed"] == 2 and record["steps"] == 30 and record["config"]["width"] == 32
    assert record["versions"]["torch"] and record["dataset"]["fingerprint"] and record["modes"]["n_modes"] == 8

    run_cli("sample", out / "model.safetensors", "-n", "500", "--out", tmp_path / "scatter.png")
    with Image.open(tmp_path / "scatter.png") as picture:
        assert picture.format == "PNG" and picture.width > 100
    run_cli("sample", out / "model.safetensors", "-n", "7", "--seed", "5", "--out", tmp_path / "s.safetensors")
    assert load_file(tmp_path / "s.safetensors")["samples"].shape == (7, 2)

    evaluated = run_cli("eval", out / "model.safetensors", "--metrics", "modes", "--json", tmp_path / "eval.json")
    assert evaluated.stdout.startswith("vanilla (checkpoint, a distribution) on ring8\n  modes ")
    record = json.loads((tmp_path / "eval.json").read_text())
    assert {"family", "plugin", "dataset", "seed", "config", "metrics", "timings", "versions"} <= set(record)
    assert record["source"]["path"] == str(out / "model.safetensors") and record["source"]["step"] == 30
    assert record["metrics"]["modes"]["n_modes"] == 8 and record["dataset"]["fingerprint"]


def test_image_samples_make_a_grid(tmp_path):
    out = tmp_path / "digits"
    invoke("train", "vanilla", "--dataset", "digits", "--steps", "2", "--out", out, "--set", "channels=4")
    result = invoke("sample", out / "model.safetensors", "-n", "16", "--out", tmp_path / "grid.png")
    assert result.exit_code == 0
    with Image.open(tmp_path / "grid.png") as picture:
        assert picture.size == ((4 * 9 + 1) * 4, (4 * 9 + 1) * 4)  # 4x4 tiles of 8 px, 1 px borders, scale 4


def test_a_broken_plugin_is_listed_and_everything_else_works(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "gan-zoo-broken", "0.0.1", {"broken_cli_mod": "import not_a_module_anywhere\n"},
                      {"broken": "broken_cli_mod"})
    env = {"PYTHONPATH": str(site)}
    listed = run_cli("plugins", "--json", env_extra=env)
    broken = next(p for p in json.loads(listed.stdout) if p["name"] == "broken")
    assert "ModuleNotFoundError" in broken["error"] and broken["version"] == "0.0.1"
    assert listed.stderr.count("warning: plugin broken (gan-zoo-broken 0.0.1) was skipped") == 1
    families = run_cli("families", env_extra=env)
    assert "vanilla" in families.stdout


def test_option_values_are_parsed_with_one_line_errors(tmp_path):
    result = invoke("train", "vanilla", "--dataset", "ring8", "--steps", "0", "--out", tmp_path)
    assert_one_line_error(result, "--steps", "gan-zoo train --help")
    assert not (tmp_path / "model.safetensors").exists()


def test_train_eval_and_bench_report_progress_through_a_pipe(tmp_path):
    trained = run_cli("train", "vanilla", "--dataset", "ring8", "--steps", "100", "--out", tmp_path / "run",
                      "--set", "width=16")
    assert "train vanilla on ring8: step 100/100 (100%)" in trained.stderr  # plain lines, not a bar, on a pipe
    quiet = run_cli("train", "vanilla", "--dataset", "ring8", "--steps", "100", "--out", tmp_path / "quiet",
                    "--set", "width=16", "--quiet")
    assert "step" not in quiet.stderr
    evaluated = run_cli("eval", tmp_path / "run" / "model.safetensors", "--metrics", "modes,nn_distance",
                        "--capacities", "300", "--ensemble", "2", "--ensemble-steps", "10")
    assert "modes (1/2)" in evaluated.stderr and "the noise floor" in evaluated.stderr
    assert json.loads((tmp_path / "run" / "run.json").read_text())["threads"] == 1


def test_outputs_are_never_written_over_unasked(tmp_path):
    run_cli("train", "memorizer", "--dataset", "ring8", "--set", "m=20", "--out", tmp_path / "m")
    checkpoint = tmp_path / "m" / "model.safetensors"
    before = checkpoint.read_bytes()
    assert_one_line_error(invoke("sample", checkpoint, "--out", checkpoint, "--force"), "never written over")
    (tmp_path / "s.safetensors").write_bytes(b"mine")
    assert_one_line_error(invoke("sample", checkpoint, "--out", tmp_path / "s.safetensors"), "--force")
    assert checkpoint.read_bytes() == before and (tmp_path / "s.safetensors").read_bytes() == b"mine"
    assert invoke("sample", checkpoint, "--out", tmp_path / "s.safetensors", "--force").exit_code == 0


def test_a_folder_in_use_by_another_run_is_refused(tmp_path):
    from gan_zoo.app.running import folder_lock

    with folder_lock(tmp_path / "busy"):
        result = run_cli("train", "memorizer", "--dataset", "ring8", "--out", tmp_path / "busy", check=False)
    assert result.returncode == 2 and "in use by another gan-zoo run (pid" in result.stderr
    assert run_cli("train", "memorizer", "--dataset", "ring8", "--out", tmp_path / "busy").returncode == 0
