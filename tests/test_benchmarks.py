"""The benchmark runner works end to end on a tiny project (the figures themselves are in
benchmarks/RESULTS.md, not asserted here)."""

import importlib.util
import sys

import pytest

from conftest import ROOT, run


@pytest.mark.slow
def test_benchmark_runner_writes_every_table_on_a_tiny_project(tiny_repo, tmp_path):
    output = tmp_path / "RESULTS.md"
    output.write_text("# Benchmark results\n\nan earlier section\n")
    run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--pipeline", "--repo", str(tiny_repo), "--output", str(output)], tiny_repo)
    text = output.read_text()
    assert text.startswith("# Benchmark results\n\nan earlier section\n\n### Smoke run")
    assert "Whole pipeline (`snakemake --cores all --forceall`, 5 jobs)" in text
    for row in ("| no-op `snakemake --cores all` |", "| no-op `snakemake -n --cores all` |", "| no-op `dvc status` |", "| no-op `dvc repro` |",
                "| `reprolab plan` |"):
        assert row in text
    for backend in ("tensorflow", "jax", "torch"):
        if importlib.util.find_spec(backend):
            assert f"| {backend} | cpu | `per-example loop (pipeline path)` |" in text
            assert f"| {backend} | cpu | `plain fit(batch_size=1)` |" in text
    if importlib.util.find_spec("jax"):
        assert "| jax | cpu | " in text and "seeds together, in units of one seed |" in text


@pytest.mark.slow
def test_the_graph_scale_benchmark_builds_clean_synthetic_projects_and_times_them():
    output = run([sys.executable, str(ROOT / "benchmarks" / "graph_scale.py"), "--studies", "2", "--variants", "2", "--repeats", "1"], ROOT).stdout
    (row,) = [line for line in output.splitlines() if line.startswith("| 2 x 2 |")]
    assert row.split(" | ")[1] == "9", "DVC stages: configure, prepare, per study 2 trains and a report, the index"
    bare = run([sys.executable, str(ROOT / "benchmarks" / "graph_scale.py"), "--studies", "1", "--variants", "2", "--repeats", "1", "--without-code"],
               ROOT).stdout  # the script itself refuses a project whose `dvc status` is not clean
    (row,) = [line for line in bare.splitlines() if line.startswith("| 1 x 2 |")]
    assert row.split(" | ")[1] == "6" and row.split(" | ")[5] == "—", "DVC alone: Snakemake would write the code dependencies back"
