"""The demo runs end to end on a shortened real run and writes a plot; the benchmark's
statistics and synthetic runner behave."""

from __future__ import annotations

import io

import numpy as np
import pytest

from gait.bench.speed import format_report, percentiles
from gait.core.records import SampleBlock, StepMetrics
from gait.synthetic import SyntheticRunner, synthetic_blocks


def test_percentiles_on_known_numbers():
    # 0, 1, ..., 100: the q-th percentile (linear interpolation) is q itself.
    s = percentiles(np.arange(101.0), (50, 99))
    assert s["p50"] == pytest.approx(50.0)
    assert s["p99"] == pytest.approx(99.0)
    assert s["max"] == 100.0
    assert s["n"] == 101
    # 1..10 in any order: median 5.5, p90 = 9.1 (between the 9th and 10th values), max 10.
    s = percentiles([7, 3, 10, 1, 9, 2, 8, 4, 6, 5], (50, 90))
    assert s["p50"] == pytest.approx(5.5)
    assert s["p90"] == pytest.approx(9.1)
    assert s["max"] == 10.0
    # one slow packet among 999 fast ones shows in max, not in p99
    s = percentiles([0.02] * 999 + [5.0], (50, 99))
    assert s["p50"] == pytest.approx(0.02)
    assert s["p99"] == pytest.approx(0.02)
    assert s["max"] == 5.0
    empty = percentiles([], (50, 99))
    assert empty["n"] == 0 and np.isnan(empty["p50"])


@pytest.mark.parametrize("placement", ["sacrum", "foot"])
def test_synthetic_runner_is_continuous_and_plausible(placement):
    blocks = list(synthetic_blocks(placement, minutes=0.5, chunk_s=7.3))
    whole = SampleBlock.concat(blocks)
    assert len(whole) == 6000
    assert np.all(np.diff(whole.time_s) > 0)
    assert np.allclose(np.diff(whole.time_s), 1 / 200.0)
    assert whole.gyr_dps is not None and whole.gyr_dps.shape == (6000, 3)
    assert np.all(np.isfinite(whole.acc_mps2))
    # gravity is the mean specific force over whole steps
    g = np.linalg.norm(whole.acc_mps2.mean(axis=0))
    assert 5.0 < g < 25.0
    # chunking the generator changes the noise draw only, never the signal
    r1, r2 = SyntheticRunner(placement, seed=3), SyntheticRunner(placement, seed=3)
    a = SampleBlock.concat([r1.next_block(13) for _ in range(100)])
    b = r2.next_block(1300)
    assert np.abs(a.acc_mps2 - b.acc_mps2).max() < 1.0


def test_pipeline_finds_steps_in_the_synthetic_runner():
    from gait.core.config import PipelineConfig
    from gait.pipeline import analyze

    block = SampleBlock.concat(list(synthetic_blocks("sacrum", minutes=1.0)))
    result = analyze(block, PipelineConfig(placement="sacrum"), 200.0)
    cad = [s.cadence_spm for s in result.steps if s.cadence_spm is not None]
    assert len(result.steps) > 120
    assert 150 < np.median(cad) < 190


def test_report_formats():
    rep = {
        "input": "synthetic",
        "minutes": 60,
        "cpu": "pinned",
        "python": "3.11",
        "numpy": "1",
        "placements": {
            "sacrum": {
                "csv": {"rows": 10, "bytes": 1e6, "read_seconds": 1.0, "read_x_real_time": 3600, "write_seconds": 2.0},
                "file_to_records": {"seconds": 2.0, "x_real_time": 1800.0},
                "offline": {
                    "seconds": 1.0,
                    "x_real_time": 3600.0,
                    "steps": 10,
                    "cadence_spm": 170.0,
                    "gct_ms": 250.0,
                    "vo_cm": 8.0,
                },
                "live": {
                    "packet_ms": {"p50": 0.01, "p99": 0.2, "max": 2.0},
                    "packets": 100,
                    "step_latency_ms": {"median": 300.0, "max": 400.0},
                    "rss_start_mb": 80.0,
                    "rss_peak_mb": 90.0,
                    "minutes": 60,
                },
                "live_short": {"rss_peak_mb": 89.5, "minutes": 10},
            }
        },
    }
    text = format_report(rep)
    assert "3,600x" in text and "200 us" in text and "+0.5 MB" in text
    assert "1,800x" in text and "file to records MISSED" in text


def test_side_by_side_and_startup_formats():
    from gait.bench.compare import format_compare
    from gait.bench.startup import format_startup

    rows = [{"command": "gait --help", "min_s": 0.08, "median_s": 0.09, "runs": [0.08, 0.09]}]
    text = format_startup({"rows": rows, "load": (1.5, 1.0, 0.5), "cpus": 2, "repeat": 2})
    assert "gait --help" in text and "ok (< 0.2 s)" in text and "load average 1.5" in text
    gaitmap = {"available": True, "rows": [{"file": "run00-foot.csv", "ours_s": 1.0, "ours_contacts": 849,
                                            "gaitmap_s": 8.0, "gaitmap_contacts": 848, "ratio": 8.0}]}  # fmt: skip
    batch = {"available": True, "files": 6, "one_process_per_file_s": 12.0, "two_processes_at_a_time_s": 7.0,
             "cluster": "a local Dask cluster, 2 workers", "batch_s": 6.0, "batch_jobs1_s": 4.0}  # fmt: skip
    text = format_compare({"files": 6, "minutes": 10, "repeat": 2, "cores": 2, "load": None, "gaitmap": gaitmap,
                           "batch": batch})  # fmt: skip
    assert "ratio 8.0x" in text and "8.0-8.0x faster than gaitmap" in text
    assert "0.50 files/s" in text and " 3.0x" in text  # the batch, 12 s / 4 s
    missing = format_compare({"files": 6, "minutes": 10, "repeat": 2, "cores": 2, "load": None,
                              "gaitmap": {"available": False, "why": "not installed"}, "batch": batch})  # fmt: skip
    assert "gaitmap: not measured: not installed" in missing


def test_demo_runs_end_to_end_and_writes_a_png(tmp_path, capsys):
    from gait.demo import run_demo

    assert run_demo(tmp_path / "out", speed="max", minutes=2.0) == 0
    captured = capsys.readouterr()
    pngs = list((tmp_path / "out").glob("*.png"))
    assert len(pngs) == 1
    assert pngs[0].stat().st_size > 40_000
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = captured.out
    assert "cadence spm" in out and "VO cm" in out
    assert "Foot strike" in out and "Bounce" in out
    assert str(pngs[0].resolve()) in out
    assert "real time" in captured.err  # the progress bar


def test_demo_summaries_on_made_up_steps():
    from gait.run_words import bounce_verdict, format_table, per_minute, strike_verdict, vo_zone

    assert [vo_zone(v) for v in (5.0, 7.0, 9.0, 10.5, 12.0)] == ["purple", "blue", "green", "orange", "red"]
    steps = [
        StepMetrics(
            ic_s=i * 0.35,
            to_s=i * 0.35 + 0.25,
            side=None,
            gct_ms=250.0,
            flight_ms=100.0,
            cadence_spm=171.0,
            vo_cm=10.5,
            vertical_ratio_pct=None,
            fsa_deg=None,
            strike=None,
            lean_deg=None,
            impact_g=None,
            duty_factor=None,
        )
        for i in range(400)
    ]
    rows = per_minute(steps)
    assert [r["minute"] for r in rows] == [1, 2, 3]
    assert rows[0]["steps"] == 172 and rows[0]["cadence_spm"] == 171.0
    table = format_table(rows, show_foot_cadence=False, show_strike=False)
    assert "10.5" in table
    assert "orange" in bounce_verdict(steps)
    assert "not measurable" in strike_verdict(None)


def test_progress_bar_is_plain_text():
    from gait.demo import ProgressBar

    buf = io.StringIO()
    bar = ProgressBar(100.0, stream=buf, width=10)
    bar.update(50.0, force=True)
    bar.close(100.0)
    text = buf.getvalue()
    assert text.startswith("\r[#####-----]") and " 50.0%" in text and "100.0%" in text and text.endswith("\n")


def test_scale_bench_sharded_over_processes():
    """bench-scale over two worker processes (tiny: 4 runners, 3 s): every step reaches the store."""
    from gait.bench.scale import format_report, scale_bench

    rep = scale_bench(runners=4, seconds=3.0, burst=0, start_server=False, processes=2, frame_ms=500.0, pods=2)
    live = rep["live"]
    assert live["processes"] == 2 and [p["runners"] for p in live["per_process"]] == [2, 2]
    assert live["steps"] > 0 and live["store_steps"] == live["steps"]
    text = format_report(rep)
    assert "2 processes" in text and "runners sustained in real time" in text
