"""Metrics along training: the Tracker API, the trajectory file, onset detection, and `gan-zoo train --track`."""

import json

import pytest
import torch
from click.testing import CliRunner

from gan_zoo import Tracker
from gan_zoo.app.cli import main
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness import tracking
from gan_zoo.harness.tracking import FILE_NAME, onset, read_trajectory
from gan_zoo.registry import registry

PIXELS = {"features": "pixels"}  # no domain classifier to train: tests stay small
METRICS = ["ct", "authpct", "kid"]


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def tracker(data, out, metrics=METRICS, **kwargs):
    # few control runs keep the tests fast; the rank rule then judges at level 1 - 1 / (K + 1)
    controls = kwargs.pop("controls", 3)
    return Tracker(data, metrics, out, n=kwargs.pop("n", 100), controls=controls,
                   level=kwargs.pop("level", 1 - 1 / (controls + 1)),
                   **{m: PIXELS for m in metrics if m != "birthday"}, **kwargs)


class Toy(torch.nn.Module):
    latent_dim = 16

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(16, 64)

    def forward(self, z):
        return torch.tanh(self.layer(z)).view(-1, 1, 8, 8)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def comparable(points):
    """Points without their timings, which are the only thing allowed to differ between two runs."""
    return [{k: v for k, v in p.items() if k != "seconds"} for p in points]


def test_a_plain_training_loop_writes_a_trajectory_and_plots(digits, tmp_path):
    torch.manual_seed(0)
    generator = Toy()
    optimizer = torch.optim.SGD(generator.parameters(), lr=0.1)
    track = tracker(digits, tmp_path)
    for step in range(1, 7):
        loss = (generator(torch.randn(32, 16)) - digits.train.x[:32]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 2 == 0:
            track.update(step, generator)
    header, *points = lines(tmp_path / FILE_NAME)
    assert header["schema"] == "gan-zoo-trajectory/1" and header["kind"] == "header"
    assert [p["step"] for p in points] == [2, 4, 6] and all(p["kind"] == "point" for p in points)
    assert set(points[0]["scores"]) == {"ct", "authpct", "kid"} == set(header["controls"]["bands"])
    assert all(len(values) == 3 for values in header["controls"]["values"].values())
    assert points[-1]["onsets"] == track.onsets()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "trajectory-authpct.png", "trajectory-ct.png", "trajectory-kid.png"]


def test_reopening_resumes_without_evaluating_recorded_steps_again(digits, tmp_path, monkeypatch):
    items = digits.train.x[:300]
    first = tracker(digits, tmp_path)
    first.update(5, items)
    monkeypatch.setattr(tracking, "evaluate", lambda *a, **k: pytest.fail("a recorded step was evaluated again"))
    again = tracker(digits, tmp_path)
    assert again.update(5, items) == first.points[0]
    assert len(lines(tmp_path / FILE_NAME)) == 2


def test_a_torn_last_line_is_dropped_and_the_file_carries_on(digits, tmp_path):
    items = digits.heldout.x
    tracker(digits, tmp_path).update(1, items)
    whole = (tmp_path / FILE_NAME).read_bytes()
    with open(tmp_path / FILE_NAME, "ab") as f:
        f.write(b'{"kind": "point", "step": 2, "sco')  # what a kill mid-write would leave
    resumed = tracker(digits, tmp_path)
    assert resumed.dropped_torn_line and (tmp_path / FILE_NAME).read_bytes() == whole
    resumed.update(2, items)
    assert [p["step"] for p in read_trajectory(tmp_path / FILE_NAME).points] == [1, 2]


def test_a_trajectory_of_another_run_is_never_appended_to(digits, tmp_path):
    tracker(digits, tmp_path).update(1, digits.heldout.x)
    with open(tmp_path / FILE_NAME, "ab") as f:
        f.write(b'{"kind": "po')  # a torn line, which is that run's to drop, not this one's
    before = (tmp_path / FILE_NAME).read_bytes()
    with pytest.raises(UserError, match=r"another run \(it differs in eval_config\).*never appended"):
        tracker(digits, tmp_path, metrics=["ct", "kid"])
    with pytest.raises(UserError, match=r"differs in run\)"):
        tracker(digits, tmp_path, run={"family": "vanilla"})
    assert (tmp_path / FILE_NAME).read_bytes() == before


def test_items_of_another_shape_mid_run_are_refused(digits, tmp_path):
    track = tracker(digits, tmp_path)
    track.update(1, digits.heldout.x)  # N, 1, 8, 8
    with pytest.raises(UserError, match=r"shape \(8, 8\).*earlier points had items of shape \(1, 8, 8\)"):
        track.update(2, digits.heldout.x[:, 0])  # N, 8, 8: the same images, another layout
    with pytest.raises(UserError, match="step 0 comes before the last tracked step 1"):
        track.update(0, digits.heldout.x)


def test_a_metric_that_does_not_apply_is_refused_before_anything_is_written(digits, tmp_path):
    with pytest.raises(UserError, match=r"tracking modes: it does not apply here \(digits has no known mode"):
        Tracker(digits, ["ct", "modes"], tmp_path, n=100)
    with pytest.raises(UserError, match="tracking probe: .*needs an encoder-decoder model"):
        Tracker(digits, ["probe"], tmp_path, n=100)
    with pytest.raises(UserError, match="n = 200: the held-out split of digits holds 359 items"):
        Tracker(digits, ["ct"], tmp_path, n=200)
    assert not (tmp_path / FILE_NAME).exists()


def test_onset_is_where_a_detection_that_lasts_began_with_its_interval():
    assert onset([(10, False), (20, True), (30, False), (40, True), (50, True)]) == \
        {"step": 40, "after": 30, "confirmed": True}
    assert onset([(10, True), (20, True)]) == {"step": 10, "after": None, "confirmed": True}
    assert onset([(10, False), (20, False), (30, True)]) == {"step": 30, "after": 20, "confirmed": False}
    assert onset([(10, False), (20, True), (30, False)]) is None
    assert onset([(10, True), (20, True), (30, False), (40, False)]) is None  # an early detection that ended


def test_onset_finds_the_step_a_source_starts_copying(digits, tmp_path):
    track = tracker(digits, tmp_path, metrics=["ct", "authpct"], n=150, controls=5)
    reference = track.reference.heldout.x
    fresh = digits.heldout.x[~(digits.heldout.x.flatten(1)[:, None] == reference.flatten(1)[None]).all(-1).any(-1)]
    switch = 40

    def source_at(step):  # real items the model never saw, until it copies training items from `switch` on
        items = fresh if step < switch else digits.train.x

        def sample(n, seed):
            return items[torch.randperm(len(items), generator=torch.Generator().manual_seed(seed))[:n]]
        return sample

    for step in range(10, 80, 10):
        track.update(step, source_at(step))
    found = track.onsets()
    for score in ("ct", "authpct"):
        assert found[score] == {"step": switch, "after": switch - 10, "confirmed": True}, score


def test_a_budget_skips_points_but_never_the_last(digits, tmp_path):
    track = tracker(digits, tmp_path, budget=1e-9)  # the control runs alone spent more than that
    track.update(1, digits.heldout.x)
    track.update(2, digits.heldout.x, final=True)
    assert [p["kind"] for p in read_trajectory(tmp_path / FILE_NAME).points] == ["skipped", "point"]
    assert track.cost()["skipped"] == 1 and track.cost()["points"] == 1


# -- gan-zoo train --track -----------------------------------------------------------------------------------

def train(out, *extra, steps=25, every=10):
    args = ["train", "vanilla", "--dataset", "digits", "--steps", str(steps), "--quiet", "--out", str(out),
            "--set", "width=8", "--checkpoint-every", "100", "--track", "ct,authpct", "--track-every", str(every),
            "--track-n", "100", "--track-budget", "1", "-o", "ct.features=pixels", "-o", "authpct.features=pixels",
            *extra]
    return CliRunner().invoke(main, args)


def test_train_tracks_every_n_steps_and_at_the_end(tmp_path):
    result = train(tmp_path, "--keep-tracked")
    assert result.exit_code == 0, result.output
    points = read_trajectory(tmp_path / FILE_NAME).points
    assert [p["step"] for p in points] == [10, 20, 25]
    assert sorted(p.name for p in (tmp_path / "tracked").iterdir()) == [
        "step-000000010.safetensors", "step-000000020.safetensors", "step-000000025.safetensors"]
    assert "tracking: 3 points" in result.output and "C_T (pixels, n=100):" in result.output
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["tracking"]["onsets"] == points[-1]["onsets"] and 0 < run["tracking"]["cost"]["share"] <= 1


def test_a_kill_while_tracking_then_a_resume_give_the_uninterrupted_trajectory(tmp_path, monkeypatch):
    assert train(tmp_path / "straight").exit_code == 0
    original, calls = tracking.append_line, {"n": 0}

    def killed_mid_write(path, value):
        calls["n"] += 1
        if calls["n"] == 2:  # the second point: half a line written, then the process dies
            with open(path, "ab") as f:
                f.write(tracking._line(value)[:40])
            raise KeyboardInterrupt
        original(path, value)

    with monkeypatch.context() as patch:
        patch.setattr(tracking, "append_line", killed_mid_write)
        assert train(tmp_path / "resumed").exit_code == 130
    assert train(tmp_path / "resumed").exit_code == 0
    straight = read_trajectory(tmp_path / "straight" / FILE_NAME)
    resumed = read_trajectory(tmp_path / "resumed" / FILE_NAME)
    assert not resumed.torn and [p["step"] for p in resumed.points] == [10, 20, 25]
    assert comparable(resumed.points) == comparable(straight.points)


@pytest.mark.parametrize("extra, message", [
    (["--track-every", "40"], "--track-every 40: larger than the run (25 steps); choose at most 25"),
    (["--track-every", "0"], "Invalid value for '--track-every'"),
    (["--track", "ct,authpct,modes"], "tracking modes: it does not apply here"),
])
def test_bad_tracking_input_is_refused_before_training(tmp_path, extra, message):
    result = train(tmp_path, *extra)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "model.safetensors").exists()


def test_tracking_options_need_track(tmp_path):
    result = CliRunner().invoke(main, ["train", "vanilla", "--dataset", "digits", "--steps", "2", "--out",
                                       str(tmp_path), "--track-every", "1"])
    assert result.exit_code == 2 and "go with --track METRICS" in result.output


def test_a_folder_holding_another_run_gets_no_trajectory(tmp_path):
    assert train(tmp_path, "--track-every", "5", steps=5).exit_code == 0
    (tmp_path / FILE_NAME).unlink()
    result = train(tmp_path, "--set", "lr=0.01", "--track-every", "5", steps=5)
    assert result.exit_code == 2 and "holds a different run" in result.output
    assert not (tmp_path / FILE_NAME).exists()


# -- suites and reports --------------------------------------------------------------------------------------

SUITE = """\
[suite]
datasets = ["digits"]

[eval]
metrics = ["fd"]
fd = {features = "pixels"}

[[family]]
name = "vanilla"
steps = 20
set = {width = 8}
track = {metrics = ["ct", "authpct"], every = 10, n = 100, ct = {features = "pixels"}, authpct = {features = "pixels"}}

[[family]]
name = "vanilla"
steps = 20
set = {width = 12}
track = {metrics = ["ct", "authpct"], every = 10, n = 100, ct = {features = "pixels"}, authpct = {features = "pixels"}}
"""


def test_a_suite_entry_tracks_and_the_leaderboard_draws_its_runs_on_one_axis(tmp_path):
    from gan_zoo.app.bench import execute, store
    from gan_zoo.app.jobs import expand
    from gan_zoo.app.report import write_report

    (tmp_path / "suite.toml").write_text(SUITE)
    suite = expand(tmp_path / "suite.toml", registry())
    out = tmp_path / "out"
    results = [store(out, execute(job, str(out), "cpu")) for job in suite.jobs]
    assert [r["status"] for r in results] == ["ok", "ok"]
    for result in results:
        trajectory = read_trajectory(out / result["artifacts"]["trajectory"])
        assert [p["step"] for p in trajectory.points] == [10, 20]
        assert result["tracking"]["onsets"] == trajectory.points[-1]["onsets"]
    board, written = write_report(out, results, suite="tracked")
    assert sorted(board["datasets"]["digits"]["plots"]) == ["trajectory-authpct", "trajectory-ct"]
    assert (out / "plots" / "digits-trajectory-ct.png").exists()
    markdown = written["md"].read_text()
    assert markdown.count("[along training: ct](jobs/") == 2


@pytest.mark.parametrize("track, message", [
    ('{metrics = ["ct"], every = 50}', "every must be a whole number of steps from 1 to the run's 20"),
    ('{metrics = ["ct"], every = 5, often = 2}', "often"),
    ('{metrics = ["nope"], every = 5}', "nope"),
])
def test_a_bad_track_table_is_refused_when_the_suite_is_read(tmp_path, track, message):
    from gan_zoo.app.jobs import expand

    (tmp_path / "suite.toml").write_text(f'[suite]\ndatasets = ["digits"]\n\n[[family]]\nname = "vanilla"\n'
                                         f'steps = 20\ntrack = {track}\n')
    with pytest.raises(UserError, match=message):
        expand(tmp_path / "suite.toml", registry())
