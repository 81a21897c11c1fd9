"""The benchmark runner: one result per job, resumable, failures recorded, executors agree, reports render."""

import html
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan_zoo.app.bench import execute, plan, store
from gan_zoo.app.jobs import expand
from gan_zoo.registry import registry

from .conftest import run_cli

# Small enough to run in seconds; still every metric a ring and digits allow, and one trained family.
TINY = """\
[suite]
description = "tiny"
datasets = ["ring8"]

[eval]
metrics = ["nn_distance", "birthday", "modes", "inception_score", "fd", "probe"]

[eval.nn_distance]
capacities = [300, 1000]
max_items = 300

[eval.nn_distance.ensemble]
members = 2
steps = 20

[eval.inception_score]
samples = 200

[eval.birthday]
sizes = [10, 20, 40]
trials = 2

[eval.features.classifier]
steps = 20

[[family]]
name = "vanilla"
steps = 30

[[family]]
name = "memorizer"
set = {m = 20}
datasets = ["ring8", "digits"]

[[family]]
name = "ed-memorizer"
set = {m = 16}
datasets = ["digits"]
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return {"GAN_ZOO_CACHE": str(cache)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, env):
    """The tiny suite, run once through the CLI as a user would; shared by the tests that read its results."""
    folder = tmp_path_factory.mktemp("tiny")
    suite = folder / "tiny.toml"
    suite.write_text(TINY)
    out = folder / "out"
    result = run_cli("bench", suite, "--out", out, env_extra=env)
    return suite, out, result


def results_of(out: Path) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}


def test_bench_writes_one_result_per_job_and_a_leaderboard(tiny_run):
    suite, out, result = tiny_run
    jobs = expand(suite, registry()).jobs
    results = results_of(out)
    assert sorted(results) == sorted(job.key for job in jobs)
    assert all(r["status"] == "ok" and r["schema"] == "gan-zoo-result/2" for r in results.values())
    assert result.stdout.splitlines()[0] == f"leaderboard: {out / 'leaderboard.html'} (and .md, .json; written " \
                                            f"when the suite ends)"
    assert f"[{len(jobs)}/{len(jobs)}] ok" in result.stderr  # a line per finished job, on a pipe too
    for name in ("leaderboard.html", "leaderboard.md", "leaderboard.json", "suite.json"):
        assert (out / name).stat().st_size > 0
    vanilla = next(r for r in results.values() if r["job"]["family"] == "vanilla")
    assert vanilla["train"]["steps"] == 30 and (out / vanilla["artifacts"]["samples"]).exists()
    memorizer_digits = next(r for r in results.values() if r["job"]["family"] == "memorizer"
                            and r["job"]["dataset"] == "digits")
    assert (out / memorizer_digits["artifacts"]["montage"]).exists()
    assert {"nn_distance", "birthday", "inception_score", "fd"} <= set(memorizer_digits["eval"]["metrics"])


def test_the_leaderboard_json_has_a_row_per_family_and_the_true_support_beside_the_estimate(tiny_run):
    _, out, _ = tiny_run
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["schema"] == "gan-zoo-leaderboard/2" and board["suite"] == "tiny" and not board["failures"]
    assert [row["family"] for row in board["datasets"]["ring8"]["rows"]].count("vanilla") == 1
    assert board["datasets"]["ring8"]["capacities"] == [300, 1000]
    digits = {row["family"]: row for row in board["datasets"]["digits"]["rows"]}
    assert digits["memorizer"]["true_support"] == 20 and digits["ed-memorizer"]["cells"]["probe"]["mean"] is not None
    assert "(true 20)" in digits["memorizer"]["cells"]["birthday.support"]["text"]
    rows = board["datasets"]["digits"]["rows"]
    # the documented default order: rows on items, then encoder rows on (x, z) pairs, each by its excess
    assert [row["pairs"] for row in rows] == sorted(row["pairs"] for row in rows)
    for pairs in (False, True):
        excess = [row["excess"] for row in rows if row["pairs"] == pairs]
        assert excess == sorted(excess)
    assert board["datasets"]["ring8"]["plots"]["nn_distance"] == "plots/ring8-nn_distance.png"


def test_running_again_skips_finished_jobs(tiny_run, env):
    suite, out, _ = tiny_run
    before = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    again = run_cli("bench", suite, "--out", out, env_extra=env)
    assert f"{len(before)} finished before, 0 to run" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()} == before


def test_a_diverging_or_failing_job_is_recorded_and_the_suite_goes_on(tmp_path):
    suite = tmp_path / "bad.toml"
    suite.write_text(TINY.split("[[family]]")[0] + """
[[family]]
name = "vanilla"
steps = 5
set = {lr = 1e30}
label = "diverges"

[[family]]
name = "memorizer"
set = {m = 100000}
label = "asks for more items than there are"

[[family]]
name = "memorizer"
set = {m = 10}
""")
    jobs = expand(suite, registry()).jobs
    records = {job.label: store(tmp_path / "out", execute(job, str(tmp_path / "out"), "cpu")) for job in jobs}
    assert records["diverges"]["status"] == "diverged" and "diverged at step" in records["diverges"]["error"]
    failed = records["asks for more items than there are"]
    assert failed["status"] == "failed" and failed["error"] and "traceback" in failed
    assert records[""]["status"] == "ok"
    pending, finished = plan(expand(suite, registry()), tmp_path / "out", retry_failed=False)
    assert not pending and len(finished) == 3
    pending, _ = plan(expand(suite, registry()), tmp_path / "out", retry_failed=True)
    assert {job.label for job in pending} == {"diverges", "asks for more items than there are"}


def measured(out: Path) -> dict:
    """Every job's numbers: its metrics, without where the domain classifier came from (trained or cached)."""
    found = {}
    for key, record in results_of(out).items():
        metrics = record["eval"]["metrics"]
        if "inception_score" in metrics:
            metrics["inception_score"].pop("space")
        found[key] = metrics
    return found


def test_worker_processes_give_the_same_numbers_as_a_sequential_run(tiny_run, tmp_path, env):
    suite, out, _ = tiny_run
    parallel = tmp_path / "parallel"
    run_cli("bench", suite, "--out", parallel, "--jobs", "2", env_extra=env)
    assert measured(parallel) == measured(out)


def test_ray_gives_the_same_numbers_as_local(tiny_run, tmp_path, env):
    pytest.importorskip("ray")
    suite, out, _ = tiny_run
    on_ray = tmp_path / "ray"
    result = run_cli("bench", suite, "--out", on_ray, "--executor", "ray", env_extra=env)
    assert measured(on_ray) == measured(out)
    assert {r["executor"] for r in results_of(on_ray).values()} == {"ray"}
    assert result.stdout.splitlines()[0].startswith("leaderboard: ")


def test_a_killed_run_resumes_and_finishes_with_every_job_once(tmp_path, env):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY)
    out = tmp_path / "out"
    command = [str(Path(sys.executable).with_name("gan-zoo")), "bench", str(suite), "--out", str(out)]
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((out / "results").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # as hard as an interruption gets: no handler runs
    process.wait()
    first = results_of(out)
    total = len(expand(suite, registry()).jobs)
    assert 1 <= len(first) < total
    again = run_cli("bench", suite, "--out", out, env_extra=env)
    assert f"{len(first)} finished before, {total - len(first)} to run" in again.stderr
    final = results_of(out)
    assert len(final) == total and all(final[key] == record for key, record in first.items())
    assert not [p for p in (out / "results").iterdir() if p.suffix != ".json"]  # no half-written files


def test_report_rewrites_the_leaderboard_elsewhere_in_chosen_formats(tiny_run, tmp_path):
    _, out, _ = tiny_run
    result = run_cli("report", out, "--format", "md,json", "--out", tmp_path / "site")
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["leaderboard.json", "leaderboard.md", "plots"]
    markdown = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "## ring8" in markdown and "| memorizer (m=20) |" in markdown and "wrote" in result.stdout
    linked = [line.split("](")[1].rstrip(")") for line in markdown.split() if "](" in line]
    assert linked and all((tmp_path / "site" / link).exists() for link in linked)


def test_report_on_a_folder_without_results_is_a_one_line_error(tmp_path):
    result = run_cli("report", tmp_path, check=False)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "no results/ folder" in result.stderr


def browse(page: Path, tmp_path: Path) -> dict:
    """Load a leaderboard page in headless Chromium 1400 px wide and return what PROBE found there."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("GAN_ZOO_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (CI installs it)")
    text = page.read_text()
    assert "http://" not in text and "https://" not in text
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("<head>", "<head>" + ERROR_TRAP, 1).replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    return json.loads(html.unescape(dom.split('<pre id="probe">')[1].split("</pre>")[0]))  # the DOM escapes < & >


def test_the_html_leaderboard_works_in_a_real_browser(tiny_run, tmp_path):
    """Loads the page in headless Chromium: rows and images present, sorting works, no script errors, and it fits
    1400 px without scrolling sideways."""
    _, out, _ = tiny_run
    assert 'src="data:image/png;base64,' in (out / "leaderboard.html").read_text()
    report = browse(out / "leaderboard.html", tmp_path)
    board = json.loads((out / "leaderboard.json").read_text())
    assert report["rows"] == sum(len(d["rows"]) for d in board["datasets"].values())
    assert report["images"] >= 4 and report["broken_images"] == 0
    assert report["sorted_descending"] and report["errors"] == [], json.dumps(report)
    assert report["page_width"] <= report["window_width"] == 1400
    # it explains itself: the discriminator in the NND headers, notes on constructions, the memorisation flag
    assert any("(mlp)" in h for h in report["headers"]) and "memorisation check" in report["headers"]
    assert any(note.startswith("memorizer (m=20) (constructed): uniform on m memorised") for note in report["notes"])
    assert any(flag.startswith("MEMORISES? (birthday") for flag in report["flags"])
    # a best-model line per data set (ring8's one trained family, vanilla, after 30 steps fails: none qualifies)
    assert len(report["best"]) == len(board["datasets"]) and all(b.startswith("Best trained model:")
                                                                   for b in report["best"])
    assert any(item.startswith("memorisation check: every copying test that ran") for item in report["legend"])


def test_the_html_leaderboard_names_the_best_model_explains_its_columns_and_flags_every_copier(tmp_path):
    """A results folder whose numbers are known: a Gaussian memorizer that only C_T catches, a trained family whose
    C_T is near 0, another that failed to train."""
    from .test_report import ct, quality, record, with_metrics

    results = [with_metrics(record("gaussian-memorizer", 0, 0.01, 0.0, m=400), ct=ct(-8.5),
                            **quality(3.5, 3.2, 0.9, 0.97)),
               with_metrics(record("vanilla", 0, 0.3, 0.0), ct=ct(0.3), **quality(8.0, 3.2, 0.5, 0.97)),
               with_metrics(record("wgan", 0, 0.2, 0.0), ct=ct(1.0), **quality(53.6, 3.2, 0.014, 0.97))]
    folder = tmp_path / "results-folder"
    (folder / "results").mkdir(parents=True)
    for result in results:
        result["schema"] = "gan-zoo-result/2"
        (folder / "results" / f"{result['key']}.json").write_text(json.dumps(result))
    assert run_cli("report", folder, "--format", "html").returncode == 0
    report = browse(folder / "leaderboard.html", tmp_path)
    assert report["errors"] == [] and report["page_width"] <= report["window_width"], json.dumps(report)
    assert report["best"] == ["Best trained model: vanilla: NND over its floor 0.3 at p≈1e3"]
    flags = {row["family"]: row["memorisation"] for row in report["table"]}
    assert flags["gaussian-memorizer (m=400)"].startswith("MEMORISES? (C_T) C_T -8.5 < -3")
    assert flags["vanilla"].startswith("no copying found") and flags["wgan"].startswith("no copying found")
    assert {row["family"]: row["quality"] for row in report["table"]}["wgan"].startswith("FAILED? FD 53.6 is 17x")
    legend = {item.split(": ")[0]: item for item in report["legend"]}
    assert legend["FD (classifier, n=179)"].endswith("higher is worse")
    assert legend["C_T (classifier, n=300)"].endswith("lower is worse")
    assert "flagged is worse" in legend["memorisation check"]
    assert report["tooltips"]["FD (classifier, n=179)"] == legend["FD (classifier, n=179)"].split(": ", 1)[1]


ERROR_TRAP = """<script>window.probeErrors = [];
window.addEventListener("error", function (e) { window.probeErrors.push(String(e.message)); });
var consoleError = console.error;
console.error = function () { window.probeErrors.push(Array.prototype.join.call(arguments, " "));
  consoleError.apply(console, arguments); };</script>"""

PROBE = """<script>window.addEventListener("load", function () {
  var table = null, column = -1, most = 0;  // the NND column holding the most numbers, in any data set's table
  document.querySelectorAll("table.leaderboard").forEach(function (candidate) {
    Array.prototype.forEach.call(candidate.tHead.rows[1].cells, function (th, index) {
      var filled = Array.prototype.filter.call(candidate.tBodies[0].rows, function (row) {
        return !isNaN(parseFloat(row.cells[index].getAttribute("data-value"))); }).length;
      if (th.textContent.indexOf("NND") === 0 && filled > most) { table = candidate; column = index; most = filled; }
    });
  });
  var header = table.tHead.rows[1].cells[column];
  header.click(); header.click();  // ascending, then descending
  var values = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
    return parseFloat(row.cells[column].getAttribute("data-value")); }).filter(function (v) { return !isNaN(v); });
  var descending = values.length > 1 && values.every(function (v, i) { return i === 0 || values[i - 1] >= v; });
  var images = document.querySelectorAll("img");
  var broken = Array.prototype.filter.call(images, function (img) { return !img.complete || img.naturalWidth === 0; });
  var pre = document.createElement("pre");
  pre.id = "probe";
  var texts = function (selector) {
    return Array.prototype.map.call(document.querySelectorAll(selector), function (n) { return n.textContent; }); };
  var tooltips = {};
  document.querySelectorAll("table.leaderboard th[title]").forEach(function (th) {
    tooltips[th.textContent] = th.getAttribute("title"); });
  var first = document.querySelector("table.leaderboard");  // the first data set's first table, row by row
  var columns = Array.prototype.map.call(first.tHead.rows[1].cells, function (th) { return th.textContent; });
  var rows = Array.prototype.map.call(first.querySelectorAll("tbody.rows tr"), function (row) {
    return {family: row.cells[0].textContent,
            memorisation: row.cells[columns.indexOf("memorisation check")].textContent,
            quality: (row.cells[columns.indexOf("sample quality check")] || {}).textContent}; });
  pre.textContent = JSON.stringify({
    rows: Array.prototype.reduce.call(document.querySelectorAll("table.leaderboard"), function (sum, t) {
      return sum + (t.textContent.indexOf("memorisation check") >= 0 ? t.querySelectorAll("tbody.rows tr").length : 0);
    }, 0),
    images: images.length, broken_images: broken.length, sorted_descending: descending,
    errors: window.probeErrors, headers: texts("table.leaderboard th"), notes: texts("ul.notes li"),
    flags: texts("table.leaderboard td.flag"), best: texts("p.best"), legend: texts("ul.legend li"),
    tooltips: tooltips, table: rows, window_width: window.innerWidth,
    page_width: document.documentElement.scrollWidth});
  document.body.appendChild(pre);
});</script>"""


def test_an_unreadable_result_is_reported_and_its_job_runs_again(tmp_path, capsys):
    suite = tmp_path / "one.toml"
    suite.write_text(TINY.split("[[family]]")[0] + '[[family]]\nname = "memorizer"\nset = {m = 10}\n')
    (job,) = expand(suite, registry()).jobs
    (tmp_path / "out" / "results").mkdir(parents=True)
    (tmp_path / "out" / "results" / f"{job.key}.json").write_text('{"key": "trunc')
    pending, finished = plan(expand(suite, registry()), tmp_path / "out", retry_failed=False)
    assert [p.key for p in pending] == [job.key] and not finished
    assert "skipping unreadable result" in capsys.readouterr().err


def test_a_folder_holding_another_suite_is_refused_unless_forced(tmp_path, env):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "suite.json").write_text('{"name": "someone-else"}')
    result = run_cli("bench", suite, "--out", tmp_path / "out", env_extra=env, check=False)
    assert result.returncode == 2 and "holds the results of suite 'someone-else'" in result.stderr
    assert (tmp_path / "out" / "suite.json").read_text() == '{"name": "someone-else"}'
    assert not (tmp_path / "out" / "results").exists()


def test_a_damaged_checkpoint_is_set_aside_and_the_job_starts_over(tmp_path):
    suite = tmp_path / "one.toml"
    suite.write_text(TINY.split("[[family]]")[0] + '[[family]]\nname = "vanilla"\nsteps = 5\n')
    (job,) = expand(suite, registry()).jobs
    work = tmp_path / "out" / "jobs" / job.key
    work.mkdir(parents=True)
    (work / "model.safetensors").write_bytes(b"cut sho")  # what a kill mid-write of an old version could leave
    record = store(tmp_path / "out", execute(job, str(tmp_path / "out"), "cpu"))
    assert record["status"] == "ok" and record["damaged_checkpoint"].startswith(str(work / "model.safetensors"))
    assert (work / "model.safetensors").stat().st_size > 100 and len(list(work.glob("*.damaged-*"))) == 1


def test_a_running_job_says_what_it_is_doing(tmp_path):
    from gan_zoo.app.bench import phase_of

    suite = tmp_path / "one.toml"
    suite.write_text(TINY.split("[[family]]")[0] + '[[family]]\nname = "vanilla"\nsteps = 200\n')
    (job,) = expand(suite, registry()).jobs
    assert phase_of(tmp_path / "out", job.key) == "starting"
    execute(job, str(tmp_path / "out"), "cpu")
    assert phase_of(tmp_path / "out", job.key).startswith("evaluating: ")  # its last phase


def test_killing_the_runner_kills_its_workers(tmp_path, env):
    """kill -9 of `bench --jobs 2`: its pool workers must not live on, writing into the folder a rerun uses."""
    suite = tmp_path / "slow.toml"
    suite.write_text(TINY.split("[[family]]")[0] + '[[family]]\nname = "vanilla"\nsteps = 100000\n'
                     '\n[[family]]\nname = "vanilla"\nsteps = 100001\n')
    command = [str(Path(sys.executable).with_name("gan-zoo")), "bench", str(suite), "--out", str(tmp_path / "out"),
               "--jobs", "2"]
    runner = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "out" / "jobs").glob("*/.phase"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # both workers are training
    workers = children_of(runner.pid)
    assert len(workers) >= 2
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers)


def children_of(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state
