"""The leaderboard's arithmetic on records whose numbers are known: seeds pooled, rows ordered, gaps shown."""

import math

import pytest

from gan_zoo.app.report import build, render_html, render_markdown, terminal_tables, text_tables


def record(family, seed, gap, floor, *, dataset="digits", support=None, status="ok", m=None, half=0.1):
    job = {"family": family, "seed": seed, "dataset": dataset, "config": {"m": m}, "steps": 0, "eval": {},
           "label": "", "overrides": {"m": m} if m else {}}
    capacity = {"p": 990, "target_p": 1000, "heldout_gap": gap, "noise_floor": floor, "ci": [gap - half, gap + half],
                "noise_floor_ci": [floor - 0.01, floor + 0.01]}
    metrics = {"nn_distance": {"capacities": [capacity], "discriminator": "mlp", "pairs": False},
               "birthday": {"support": {"value": support or 1000.0, "kind": "estimate" if support else "lower_bound",
                                        "ci": [0.9 * support, 1.1 * support] if support else [1000.0, None],
                                        "method": "collision count"},
                            "largest_s": 1280, "p_duplicate_by_s": {"10": 0.5}, "features": "pixels"}}
    result = {"key": f"{family}-{seed}-{m}", "status": status, "error": None if status == "ok" else "boom",
              "job": job, "train": {"seconds": 2.0}, "artifacts": {}}
    if status == "ok":  # a failed job's result has no evaluation
        result["eval"] = {"display_name": family, "source": {"kind": "family"}, "metrics": metrics,
                          "facts": {"support": m}, "timings": {"nn": 1.0}, "versions": {}}
    return result


def test_seeds_are_pooled_into_mean_sd_and_a_t_interval():
    board = build([record("vanilla", 0, 0.3, 0.0), record("vanilla", 1, 0.5, 0.0)], folder="f", suite=None)
    (row,) = board["datasets"]["digits"]["rows"]
    assert row["nn_heldout"][1000]["mean"] == pytest.approx(0.4)
    assert row["nn_heldout"][1000]["sd"] == pytest.approx(math.sqrt(0.02))
    half = 12.706 * math.sqrt(0.02) / math.sqrt(2)  # t(0.975, 1 degree of freedom)
    assert row["nn_ci"][1000] == pytest.approx([0.4 - half, 0.4 + half], rel=1e-3)
    assert row["seeds"] == [0, 1] and row["train_seconds"]["mean"] == 2.0


def test_one_seed_keeps_its_bootstrap_interval_and_no_sd():
    (row,) = build([record("vanilla", 0, 0.3, 0.0)], folder="f", suite=None)["datasets"]["digits"]["rows"]
    assert row["nn_heldout"][1000] == {"mean": 0.3, "sd": None, "n": 1}
    assert row["nn_ci"][1000] == pytest.approx([0.2, 0.4])


def test_rows_are_ordered_by_the_gap_over_the_noise_floor_and_failures_listed_apart():
    records = [record("broken", 0, 0.0, 0.0, status="failed"), record("wide", 0, 0.9, 0.5),
               record("close", 0, 0.2, 0.1), record("memorizer", 0, 0.05, 0.0, m=100, support=98.0)]
    board = build(records, folder="f", suite="s")
    rows = board["datasets"]["digits"]["rows"]
    assert [r["label"] for r in rows] == ["memorizer (m=100)", "close", "wide"]
    assert [f["status"] for f in board["failures"]] == ["failed"]
    (name, header, cells), = text_tables(board)
    assert name == "digits" and header[1] == "memorisation check" and header[2] == "NND p≈1e3 (mlp)"
    support = header.index("birthday support (collision count)")
    assert cells[0][support] == "98 [88.2, 108] (true 100)"
    assert cells[1][support] == "> 1e+03 (no duplicates up to s=1280)"
    markdown = render_markdown(board, {})
    assert "| memorizer (m=100) | no copying found (birthday) | 0.05 (cannot tell) |" in markdown
    assert "## Failed jobs" in markdown and "boom" in markdown


def test_datasets_get_their_own_tables():
    board = build([record("a", 0, 0.1, 0.0, dataset="ring8"), record("a", 0, 0.1, 0.0)], folder="f", suite=None)
    assert sorted(board["datasets"]) == ["digits", "ring8"]


def test_metrics_nobody_measured_get_no_column():
    (name, header, cells), = text_tables(build([record("vanilla", 0, 0.3, 0.0)], folder="f", suite=None))
    assert "birthday support (collision count)" in header  # measured: a lower bound
    assert "modes" not in header and "probe on E(x)" not in header  # asked of no row
    assert header[0] == "family" and all(len(row) == len(header) for row in cells)


def test_gaps_on_pairs_and_on_items_get_columns_of_their_own():
    plain, pairs = record("vanilla", 0, 0.3, 0.0), record("bigan", 0, 0.9, 0.1)
    pairs["eval"]["metrics"]["nn_distance"]["pairs"] = True
    (name, header, cells), = text_tables(build([pairs, plain], folder="f", suite=None))
    assert "NND p≈1e3 (mlp)" in header and "NND p≈1e3 (mlp, (x, z) pairs)" in header
    rows = {row[0]: row for row in cells}
    assert rows["vanilla"][header.index("NND p≈1e3 (mlp, (x, z) pairs)")] == "-"
    assert rows["bigan"][header.index("NND p≈1e3 (mlp)")] == "-"


def test_precision_recall_plot_only_where_prdc_was_measured():
    from gan_zoo.plugins.sample_metrics import precision_recall_plot

    with_prdc = record("vanilla", 0, 0.3, 0.0)
    with_prdc["eval"]["metrics"]["prdc"] = {k: v for k, v in zip(
        ("precision", "recall", "density", "coverage"), (0.9, 0.2, 1.1, 0.3), strict=True)} | {
        "k": 5, "n_fake": 100, "n_real": 100, "features": "pixels", "real_vs_real": {"precision": 0.95, "recall": 0.95,
                                                                            "density": 1.0, "coverage": 0.97}}
    board = build([with_prdc], folder="f", suite=None)
    (row,) = board["datasets"]["digits"]["rows"]
    assert row["cells"]["prdc.precision"]["mean"] == 0.9 and row["cells"]["prdc.recall"]["mean"] == 0.2
    assert precision_recall_plot("digits", board["datasets"]["digits"]).startswith(b"\x89PNG")
    without = build([record("vanilla", 0, 0.3, 0.0)], folder="f", suite=None)
    assert precision_recall_plot("digits", without["datasets"]["digits"]) is None


def test_a_capacity_within_the_floors_noise_says_fooled_or_cannot_tell_in_its_cell():
    # vanilla's [0.2, 0.4] clears 0 and the floor's [-0.01, 0.01]. The memorizer at m = 800, interval [0, 0.008]:
    # excess 0.002 +- hypot(0.004, 0.01) = 0.0108, below the margin 0.02, and the smallest detectable excess
    # 2.8 / 1.96 x 0.0108 = 0.015 is below it too: fooled. At m = 400 the interval [-0.096, 0.104] holds 0 but
    # also excesses far above the margin: too few items to tell.
    rows = [record("memorizer", 0, 0.004, 0.002, m=800, half=0.004), record("memorizer", 0, 0.004, 0.002, m=400),
            record("vanilla", 0, 0.3, 0.0)]
    (name, header, cells), = text_tables(build(rows, folder="f", suite=None))
    column = header.index("NND p≈1e3 (mlp)")
    rows = {row[0]: row for row in cells}
    assert rows["memorizer (m=800)"][column] == "0.004 (fooled; could see 0.015)"
    assert rows["memorizer (m=400)"][column] == "0.004 (cannot tell)" and rows["vanilla"][column] == "0.3"


def with_metrics(result, **metrics):
    result["eval"]["metrics"].update(metrics)
    return result


def ct(value):
    return {"ct": value, "cells_dropped": 0, "n_cells": 3, "features": "classifier", "n_fake": 300}


def authpct(value):
    return {"authpct": value, "real_heldout": 69.0, "features": "classifier", "n_fake": 300}


def test_the_memorisation_flag_combines_every_copying_test_each_against_real_data():
    rows = {row["label"]: row for row in build([
        with_metrics(record("gaussian-memorizer", 0, 0.01, 0.0, m=400), ct=ct(-8.5)),
        with_metrics(record("vanilla", 0, 0.3, 0.0), ct=ct(0.4),
                     authpct=authpct(60.0)),
        with_metrics(record("wgan", 0, 0.3, 0.0), authpct=authpct(20.0),
                     mifid={"mifid": 900.0, "penalised": True, "distance": 0.05, "cosine_threshold": 0.1,
                            "features": "classifier", "n_fake": 179,
                            "real_vs_real": {"mifid": 40.0, "penalised": False, "distance": 0.3}}),
    ], folder="f", suite=None)["datasets"]["digits"]["rows"]}
    assert rows["gaussian-memorizer (m=400)"]["memorisation"]["flagged"] == {"C_T": "C_T -8.5 < -3 (null 0)"}
    assert rows["vanilla"]["memorisation"] == {"ran": ["birthday", "C_T", "AuthPct"], "flagged": {}}
    assert set(rows["wgan"]["memorisation"]["flagged"]) == {"AuthPct", "MiFID"}
    (name, header, cells), = text_tables(build([with_metrics(record("gaussian-memorizer", 0, 0.01, 0.0, m=400),
                                                             ct=ct(-8.5))], folder="f", suite=None))
    assert cells[0][header.index("memorisation check")].startswith("MEMORISES? (C_T) C_T -8.5")


def quality(fd, floor, coverage, real_coverage):
    return {"fd": {"value": fd, "real_floor": floor, "features": "classifier", "n": 179},
            "prdc": {"coverage": coverage, "precision": 0.5, "recall": 0.5, "density": 0.5, "k": 5, "n_fake": 300,
                     "features": "classifier", "real_vs_real": {"coverage": real_coverage, "precision": 0.9,
                                                                "recall": 0.9, "density": 1.0}}}


def test_samples_far_from_real_data_are_flagged_as_a_failed_training_run():
    rows = {row["label"]: row for row in build([
        with_metrics(record("wgan", 0, 0.3, 0.0), **quality(53.6, 3.2, 0.5, 0.97)),
        with_metrics(record("wgan-gp", 0, 0.3, 0.0), **quality(8.0, 3.2, 0.014, 0.97)),
        with_metrics(record("vanilla", 0, 0.3, 0.0), **quality(8.0, 3.2, 0.44, 0.97)),
    ], folder="f", suite=None)["datasets"]["digits"]["rows"]}
    assert rows["wgan"]["quality"] == "FAILED? FD 53.6 is 17x real data's 3.2"
    assert rows["wgan-gp"]["quality"] == "FAILED? coverage 0.014 against real data's 0.97"
    assert rows["vanilla"]["quality"] is None


def test_the_best_trained_model_skips_constructions_copies_and_failures_and_breaks_ties_by_fd():
    board = build([
        record("memorizer", 0, 0.0, 0.0, m=100, support=98.0),  # smallest gap, but a construction
        with_metrics(record("copier", 0, 0.01, 0.0), ct=ct(-9.0)),  # copies
        with_metrics(record("broken", 0, 0.02, 0.0), **quality(60.0, 3.0, 0.5, 0.97)),  # failed
        with_metrics(record("vanilla", 0, 0.30, 0.0), **quality(9.0, 3.0, 0.5, 0.97)),
        with_metrics(record("wgan-gp", 0, 0.35, 0.0), **quality(5.0, 3.0, 0.5, 0.97)),  # within vanilla's CI
        with_metrics(record("wgan", 0, 0.60, 0.0), **quality(4.0, 3.0, 0.5, 0.97)),  # outside it
    ], folder="f", suite=None)
    best = board["datasets"]["digits"]["best"]
    assert best["label"] == "wgan-gp" and "tied within the interval with vanilla, decided by FD 5" in best["text"]
    page = render_html(board, {}, {})
    assert "<b>Best trained model:</b> wgan-gp" in page and "smallest FD among them wins" in page
    only_constructions = build([record("memorizer", 0, 0.0, 0.0, m=100, support=98.0)], folder="f", suite=None)
    assert only_constructions["datasets"]["digits"]["best"]["label"] is None


def test_encoder_rows_measured_on_pairs_rank_apart_from_item_rows():
    pairs = record("bigan", 0, 0.0, 0.0)
    pairs["eval"]["metrics"]["nn_distance"]["pairs"] = True
    board = build([pairs, record("vanilla", 0, 0.3, 0.0)], folder="f", suite=None)
    assert [row["label"] for row in board["datasets"]["digits"]["rows"]] == ["vanilla", "bigan"]
    assert board["datasets"]["digits"]["best"]["label"] == "vanilla"  # items first: pair gaps are not comparable
    page = render_html(board, {}, {})
    # two tables (distances and checks; sample quality), each with an item section and a pair section
    assert page.count('<tbody class="rows">') == 2 * 2 and "measured on (x, z) pairs" in page


def test_the_terminal_summary_keeps_the_key_columns_that_fit():
    records = [with_metrics(record("gaussian-memorizer", 0, 0.01, 0.0, m=400), ct=ct(-8.5),
                            **quality(3.5, 3.2, 0.9, 0.97)),
               with_metrics(record("a-trained-family-with-a-long-label", 0, 0.3, 0.0), ct=ct(0.1),
                            **quality(8.0, 3.2, 0.5, 0.97))]
    board = build(records, folder="f", suite=None)
    (name, header, rows, left_out), = terminal_tables(board, 200)
    assert header == ["family (* best)", "copies?", "NND 1e3", "FD", "coverage", "birthday support"]
    assert rows[0][:2] == ["gaussian-memorizer (m=400)", "C_T"] and rows[1][0].endswith("*")
    assert left_out == len(text_tables(board)[0][1]) - len(header)
    (name, header, rows, left_out), = terminal_tables(board, 60)
    assert header[:2] == ["family (* best)", "copies?"] and len(header) < 6
    assert all(len("  ".join(r)) <= 60 for r in rows)
