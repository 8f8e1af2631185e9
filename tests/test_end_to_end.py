"""The real orchestrators on the tiny params: Snakemake builds everything, DVC agrees, a param
change reruns only what it touches, a new variant is picked up, experiments show test error."""

import json
import os
import signal
import statistics
import subprocess
import time

import numpy
import pytest
import yaml
from conftest import run, wait_for

from reprolab import outcomes

pytestmark = pytest.mark.slow
UP_TO_DATE = "Data and pipelines are up to date."


def stage_status(repo):
    """The DVC stages `dvc status` reports as changed."""
    return set(json.loads(run("dvc status --json", repo).stdout or "{}"))


def edit_params(repo, change):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    change(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run_records(repo, variant):
    """The train.json of every seed of a variant: they hold wall times, so a rerun changes them."""
    return {path.as_posix(): path.read_text() for path in repo.glob(f"data/runs/tiny/{variant}/*/train.json")}


def keras_weights(model_path):
    """A saved model's weights (Keras and reprolab's custom layers are imported only here)."""
    import keras

    import reprolab.training.engine  # noqa: F401  (registers the custom layers for loading)

    return keras.saving.load_model(model_path).get_weights()


def planned_jobs(repo):
    """(rule, wildcards) of every job `snakemake -n` would run."""
    jobs, rule = set(), None
    for line in run("snakemake -n --cores 1", repo).stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            if rule:
                jobs.add((rule, ""))
            rule = line.split()[1].rstrip(":")
        elif rule and line.strip().startswith("wildcards:"):
            jobs.add((rule, line.split(":", 1)[1].strip()))
            rule = None
        elif rule and not line.strip():
            jobs.add((rule, ""))
            rule = None
    return jobs


def test_snakemake_then_dvc_param_change_and_new_variants(built_tiny_repo):
    repo = built_tiny_repo

    # Reports exist and hold the measured numbers.
    readme = (repo / "reports" / "tiny" / "README.md").read_text()
    for variant in ("paper", "adamw"):
        metrics = [json.loads((repo / f"data/runs/tiny/{variant}/seed{seed}/metrics.json").read_text()) for seed in (0, 1)]
        errors = [seed_metrics["test_error_percent"] for seed_metrics in metrics]
        assert f"| `{variant}`" in readme
        assert f"{statistics.fmean(errors):.2f} ± {statistics.stdev(errors):.2f}" in readme
        assert " ".join(f"{seed_metrics['test_error_percent']:.2f} ({seed_metrics['test_errors']})" for seed_metrics in metrics) in readme
    assert "| 5.00 | 0.14 |" in readme, "the published reference sits beside the measurement"
    assert (repo / "reports" / "tiny" / "figures" / "learning_curves.png").stat().st_size > 1000
    assert "tiny/README.md" in (repo / "reports" / "index.md").read_text()

    # Snakemake brought dvc.lock up to date: nothing to redo.
    assert UP_TO_DATE in run("dvc status", repo).stdout
    untouched = run_records(repo, "paper")
    assert "Running stage" not in run("dvc repro", repo).stdout

    # One variant's epochs change: DVC sees params.yaml change, reruns configure, and then only what
    # reads a changed job file: that variant's train job and the study report (the index if a verdict moved).
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"]["adamw"].update(epochs=3))
    assert stage_status(repo) == {"configure"}
    assert ran_stages(run("dvc repro", repo).stdout) - {"index"} == {"configure", "train-tiny-adamw", "report-tiny"}
    assert run_records(repo, "paper") == untouched
    assert json.loads((repo / "data/runs/tiny/adamw/seed0/train.json").read_text())["epochs_completed"] == 3
    assert UP_TO_DATE in run("dvc status", repo).stdout

    # Snakemake reruns on a param value change too, with the same granularity.
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"]["adamw"].update(epochs=1))
    assert planned_jobs(repo) == {("train", "study=tiny, variant=adamw"), ("report", "study=tiny"), ("index", ""), ("all", "")}
    run("snakemake --cores 2", repo)
    assert json.loads((repo / "data/runs/tiny/adamw/seed0/train.json").read_text())["epochs_completed"] == 1
    assert run_records(repo, "paper") == untouched
    assert UP_TO_DATE in run("dvc status", repo).stdout

    # A new variant, added to params.yaml only, is trained, evaluated and reported by Snakemake ...
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"].update(relu={"model": {"activation": "relu"}}))
    run("snakemake --cores 2", repo)
    assert "| `relu`" in (repo / "reports" / "tiny" / "README.md").read_text()
    assert run_records(repo, "paper") == untouched
    assert UP_TO_DATE in run("dvc status", repo).stdout

    # ... and by DVC: the first `dvc repro` regenerates the stale dvc.yaml and asks for a rerun.
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"].update(slow={"optimizer": {"learning_rate": 0.01}}))
    first = run("dvc repro", repo, check=False)
    assert first.returncode != 0 and "has been regenerated: run `dvc repro` (or `snakemake`) again" in first.stderr + first.stdout
    run("dvc repro", repo)
    assert "| `slow`" in (repo / "reports" / "tiny" / "README.md").read_text()
    assert run_records(repo, "paper") == untouched


def ran_stages(output):
    """The stages a `dvc repro` output says it ran."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


def collapse_run(repo, variant, seed):
    """Rewrites one run's metrics as a run that answers one digit for every image."""
    metrics_path = repo / "data" / "runs" / "tiny" / variant / f"seed{seed}" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    confusion = numpy.zeros_like(numpy.asarray(metrics["confusion"]))
    confusion[:, 0] = numpy.asarray(metrics["confusion"]).sum(axis=1)
    metrics_path.write_text(json.dumps({**metrics, "confusion": confusion.tolist()}))


def test_a_changed_result_shows_on_the_page_and_in_dvc_metrics_diff_and_experiments_show_each_run(built_tiny_repo):
    repo = built_tiny_repo
    run("git add -A && git commit -qm baseline", repo)
    committed = run("git log -1 --format=%h", repo).stdout.strip()
    collapse_run(repo, "adamw", 1)
    run("snakemake --cores 2 --forcerun report", repo)  # the report reads the changed run
    changes = (repo / "reports" / "tiny" / "README.md").read_text().split("## Changes since the committed report")[1]
    assert f"as committed in `{committed}`" in changes and "`adamw`: failed runs 0/2 → 1/2" in changes
    diff = json.loads(run("dvc metrics diff --json", repo).stdout)["reports/tiny/metrics.json"]
    assert diff["adamw.failed_runs"] == {"old": 0, "new": 1, "diff": 1}
    # the experiment retrains adamw (its learning rate changes), which evaluates the collapsed run again
    run("dvc exp run -S studies.tiny.variants.adamw.optimizer.learning_rate=0.003", repo)
    table = json.loads(run("dvc exp show --json", repo).stdout)
    experiment_metrics = [
        experiment["data"]["metrics"]["reports/tiny/metrics.json"]["data"]
        for revision in table for experiment in (revision.get("experiments") or []) for experiment in experiment["revs"]
    ]
    assert experiment_metrics and "test_error_percent" in experiment_metrics[0]["adamw"]
    diff = run("dvc metrics diff --json", repo).stdout
    assert "adamw.test_error_percent" in diff


def test_full_scale_is_selected_by_one_params_key(built_tiny_repo):
    repo = built_tiny_repo
    run("git add -A && git commit -qm default-scale", repo)
    adamw = run_records(repo, "adamw")

    # Through DVC: only the variants with a `full` overlay (paper) rerun.
    run("dvc exp run -S scale=full", repo)
    assert json.loads((repo / "data/runs/tiny/paper/seed0/train.json").read_text())["epochs_completed"] == 3
    assert run_records(repo, "adamw") == adamw

    # Through Snakemake, from the same key.
    run("git checkout -q -- .", repo)  # back to scale: default
    edit_params(repo, lambda params: params.update(scale="full"))
    run("snakemake --cores 2", repo)
    assert json.loads((repo / "data/runs/tiny/paper/seed1/train.json").read_text())["epochs_completed"] == 3


def test_the_same_code_trains_on_the_jax_backend(tiny_repo):
    pytest.importorskip("jax", reason="the JAX backend test needs jax (pip install -e '.[test]' installs it)")
    repo = tiny_repo
    run("reprolab configure && reprolab run data/jobs/prepare-digits.json", repo)
    for variant in ("paper", "adamw"):  # per-example SGD (lax.scan) and mini-batches (plain fit)
        run(f"reprolab run data/jobs/train-tiny-{variant}.json", repo, env={**os.environ, "KERAS_BACKEND": "jax"})
        train_info = json.loads((repo / f"data/runs/tiny/{variant}/seed0/train.json").read_text())
        assert train_info["runtime"]["backend"] == "jax" and train_info["status"] == "ok"
        history = (repo / f"data/runs/tiny/{variant}/seed0/history.csv").read_text().splitlines()
        assert len(history) == 1 + train_info["config"]["epochs"]
        assert json.loads((repo / f"data/runs/tiny/{variant}/seed0/metrics.json").read_text())["test_examples"] == 100


def test_seeds_at_once_vmap_ends_as_the_seeds_trained_in_turn(tiny_repo):
    pytest.importorskip("jax", reason="seeds train vmapped on the JAX backend (pip install -e '.[test]' installs jax)")
    repo, on_jax = tiny_repo, {**os.environ, "KERAS_BACKEND": "jax"}
    run("snakemake --cores 2", repo, env=on_jax)
    in_turn = {path: json.loads(path.read_text()) for path in repo.glob("data/runs/tiny/*/seed*/metrics.json")}

    edit_params(repo, lambda params: params.update(seeds_at_once="vmap"))
    trains = {job for job in planned_jobs(repo) if job[0] == "train"}
    assert trains == {("train", "study=tiny, variant=paper"), ("train", "study=tiny, variant=adamw")}
    run("snakemake --cores 2", repo, env=on_jax)
    assert stage_status(repo) == set()
    assert len(in_turn) == 4
    for path, alone in in_turn.items():
        together = json.loads(path.read_text())
        for key in ("confusion", "test_errors", "train_errors", "status"):
            assert together[key] == alone[key], (path, key)
        assert together["test_loss"] == pytest.approx(alone["test_loss"], rel=1e-5)  # vmap: float32 round-off at most
        record = json.loads((path.parent / "train.json").read_text())
        method = "vmap" if record["config"]["batch_size"] == 1 else "in_turn"
        assert record["seeds_at_once"] == {"seeds": [0, 1], "method": method}


def test_seeds_trained_in_turn_in_one_process_equal_their_own_jobs_byte_for_byte(tiny_repo):
    """A variant's job trains its seeds one after another in one process: the second must not
    inherit anything from the first (names, random state)."""
    repo = tiny_repo
    edit_params(repo, lambda params: params["studies"]["tiny"].update(seeds=[1]))
    run("reprolab configure && reprolab run data/jobs/prepare-digits.json && reprolab run data/jobs/train-tiny-adamw.json", repo)
    alone = keras_weights(repo / "data/runs/tiny/adamw/seed1/model.keras")
    edit_params(repo, lambda params: params["studies"]["tiny"].update(seeds=[0, 1]))
    run("reprolab configure && reprolab run data/jobs/train-tiny-adamw.json", repo)
    in_turn = keras_weights(repo / "data/runs/tiny/adamw/seed1/model.keras")
    assert json.loads((repo / "data/runs/tiny/adamw/seed1/train.json").read_text())["seeds_at_once"]["method"] == "in_turn"
    assert len(in_turn) == len(alone) and all(numpy.array_equal(mine, theirs) for mine, theirs in zip(in_turn, alone))


def test_a_killed_training_resumes_from_its_last_epoch_and_ends_as_an_uninterrupted_one(tiny_repo):
    repo = tiny_repo
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"]["adamw"].update(epochs=40))
    run("reprolab configure && reprolab run data/jobs/prepare-digits.json", repo)
    command = "reprolab run data/jobs/train-tiny-adamw.json".split()
    checkpoint = repo / "data/checkpoints/tiny/adamw/seed0/checkpoint.npz"
    training = subprocess.Popen(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: checkpoint.exists() or training.poll() is not None)
    time.sleep(1.0)
    training.send_signal(signal.SIGKILL)
    training.wait()
    assert checkpoint.exists(), "the run should have left an epoch checkpoint"
    resumed = run(command, repo).stdout
    assert "resuming from" in resumed and "epochs_completed 40" in resumed
    resumed_history = (repo / "data/runs/tiny/adamw/seed0/history.csv").read_text()
    assert not (repo / "data/checkpoints/tiny/adamw").exists(), "a finished job removes its checkpoints"

    run(command, repo)  # the same run, uninterrupted
    straight_history = (repo / "data/runs/tiny/adamw/seed0/history.csv").read_text()
    assert without_timings(resumed_history) == without_timings(straight_history)


def test_a_job_killed_after_a_seed_finished_does_not_train_that_seed_again(tiny_repo):
    repo = tiny_repo
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"]["adamw"].update(epochs=40))
    run("reprolab configure && reprolab run data/jobs/prepare-digits.json", repo)
    command = "reprolab run data/jobs/train-tiny-adamw.json".split()
    training = subprocess.Popen(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: (repo / "data/checkpoints/tiny/adamw/seed1/checkpoint.npz").exists(), seconds=300)
    training.send_signal(signal.SIGKILL)
    training.wait()
    resumed = run(command, repo).stdout
    assert "resuming from data/checkpoints/tiny/adamw/seed0/checkpoint.npz after epoch 40" in resumed
    assert json.loads((repo / "data/runs/tiny/adamw/seed0/train.json").read_text())["resumed_after_epoch"] == 40


def without_timings(history):
    """history.csv without its last column (seconds per epoch)."""
    return [line.rsplit(",", 1)[0] for line in history.splitlines()]


def test_the_same_seed_twice_gives_byte_identical_metrics(tiny_repo):
    repo = tiny_repo
    run("reprolab configure && reprolab run data/jobs/prepare-digits.json", repo)
    metrics = []
    for _ in range(2):
        run("reprolab run data/jobs/train-tiny-adamw.json", repo)
        metrics.append((repo / "data/runs/tiny/adamw/seed1/metrics.json").read_bytes())
    assert metrics[0] == metrics[1]
    assert b"seconds" not in metrics[0], "timings live in train.json, not in metrics.json"


def test_a_job_reads_its_job_file_and_not_params_yaml(tiny_repo):
    """The plan hands each job its settings: with params.yaml unreadable, jobs still run (a job that
    rebuilt the plan would fail to read it)."""
    repo = tiny_repo
    run("reprolab configure", repo)
    (repo / "params.yaml").chmod(0)
    (repo / "params.yaml").rename(repo / "params.yaml.hidden")
    run("reprolab run data/jobs/prepare-digits.json && reprolab run data/jobs/train-tiny-paper.json", repo)
    assert json.loads((repo / "data/runs/tiny/paper/seed1/metrics.json").read_text())["test_examples"] == 100


def snakemake_children(process):
    """The `reprolab train` processes a running Snakemake started."""
    import psutil

    children = []
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if "train" in " ".join(child.cmdline()):
                children.append(child)
        except psutil.Error:  # it ended (or is a zombie) between the listing and the read
            continue
    return children


def start_snakemake(repo):
    """`snakemake --cores 2` in the background, with Ctrl-C's default meaning: a shell starts
    background jobs (`... &`) with SIGINT ignored, which Python then never turns into KeyboardInterrupt."""
    return subprocess.Popen(["snakemake", "--cores", "2"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_a_job_killed_by_sigkill_resumes_from_its_checkpoint_when_snakemake_reruns(tiny_repo):
    repo = tiny_repo
    edit_params(repo, lambda params: params["studies"]["tiny"]["base"].update(epochs=30))
    run("reprolab sync", repo)
    snakemake = start_snakemake(repo)
    checkpoint = repo / "data/checkpoints/tiny/paper/seed0/checkpoint.npz"
    assert wait_for(checkpoint.exists), "the paper job should checkpoint seed 0's first epoch"
    time.sleep(1.0)
    for child in snakemake_children(snakemake):  # as an out-of-memory kill would
        if "train-tiny-paper.json" in " ".join(child.cmdline()):
            child.kill()
    assert snakemake.wait(timeout=300) != 0
    assert not (repo / "data/runs/tiny/paper/seed0/model.keras").exists()

    run("snakemake --cores 2", repo)
    log = (repo / "logs/train/tiny-paper.log").read_text()
    resumed_after = int(log.split("resuming from")[1].split("after epoch")[1].split()[0])
    assert resumed_after >= 1 and "[tiny/paper/seed0] epoch 1:" not in log, "the rerun continued after the saved epoch"
    train_info = json.loads((repo / "data/runs/tiny/paper/seed0/train.json").read_text())
    assert train_info["epochs_completed"] == 30 and train_info["resumed_after_epoch"] == resumed_after
    assert UP_TO_DATE in run("dvc status", repo).stdout


def test_sigint_leaves_no_partial_output_and_the_rerun_completes(tiny_repo):
    repo = tiny_repo
    edit_params(repo, lambda params: params["studies"]["tiny"]["base"].update(epochs=30))
    run("reprolab sync", repo)
    snakemake = start_snakemake(repo)
    assert wait_for(lambda: len(snakemake_children(snakemake)) >= 2), "two training jobs should run at once"
    time.sleep(3.0)
    # Snakemake's log handler swallows a SIGINT that lands while it writes a log line (snakemake/
    # logging.py), and the run goes on: press Ctrl-C again, as a user would, until it stops.
    for _ in range(5):
        snakemake.send_signal(signal.SIGINT)
        try:
            snakemake.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue
    assert "Terminating processes on user request" in snakemake.communicate(timeout=300)[1]
    for output in repo.glob("data/runs/tiny/*/*/*"):
        assert not output.name.startswith("."), f"a temporary file was left behind: {output}"
        if output.suffix == ".json":
            json.loads(output.read_text())  # whatever exists is complete
    # Snakemake marks the interrupted jobs' outputs incomplete and asks for --rerun-incomplete.
    assert "--rerun-incomplete" in run("snakemake --cores 2", repo, check=False).stderr
    run("snakemake --cores 2 --rerun-incomplete", repo)
    assert "| `adamw`" in (repo / "reports/tiny/README.md").read_text()
    assert UP_TO_DATE in run("dvc status", repo).stdout


def test_a_partial_run_beside_reports_without_their_runs_still_records_its_stages(built_tiny_repo):
    """A fresh clone has every report (git keeps them) but none of the runs: building one target
    there must end cleanly and record what it built, not fail on the reports' missing inputs."""
    repo = built_tiny_repo
    run("git add -A && git commit -qm results && rm -rf data/runs .snakemake", repo)
    run("snakemake --cores 2 data/runs/tiny/paper", repo)
    assert "train-tiny-paper" not in stage_status(repo)


def test_a_diverging_variant_is_reported_and_the_pipeline_finishes(tiny_repo):
    repo = tiny_repo
    edit_params(repo, lambda params: params["studies"]["tiny"]["variants"].update(
        unstable={"model": {"output_activation": "linear"}, "optimizer": {"learning_rate": 10.0}}))
    run("snakemake --cores 2", repo)
    train_info = json.loads((repo / "data/runs/tiny/unstable/seed0/train.json").read_text())
    assert train_info["status"] == "diverged" and train_info["diverged_epoch"] == 1
    row = next(line for line in (repo / "reports/tiny/README.md").read_text().splitlines() if line.startswith("| `unstable`"))
    assert row.rstrip(" |").endswith("seed 0 diverged at epoch 1; seed 1 diverged at epoch 1")
    assert "unstable: 2/2 failed" in (repo / "reports/index.md").read_text()


def add_sweep(values):
    """A sweep of adamw's learning rate on the validation split, one seed, and a variant taking its pick."""
    def change(params):
        study = params["studies"]["tiny"]
        study["seeds"] = [0]
        study["sweeps"] = {"rate": {"variant": "adamw", "key": "optimizer.learning_rate", "values": values}}
        study["variants"]["tuned"] = {"extends": "adamw", "picked": ["rate"]}
    return change


def test_a_sweep_picks_on_validation_and_feeds_the_variant_that_takes_the_pick(tiny_repo):
    repo = tiny_repo
    edit_params(repo, add_sweep([0.0003, 0.01]))
    run("snakemake --cores 2", repo)
    pick = json.loads((repo / "data/runs/tiny/sweeps/rate.json").read_text())
    scored = {}
    for value, point in ((0.0003, "rate_0_0003"), (0.01, "rate_0_01")):
        metrics = json.loads((repo / f"data/runs/tiny/{point}/seed0/metrics.json").read_text())
        failed = outcomes.collapsed(metrics["validation_error_percent"], metrics["validation_confusion"])
        scored[value] = (int(failed), None if failed else metrics["validation_error_percent"])
    assert [(point["failed"], point["validation_error_mean"]) for point in pick["points"]] == [scored[0.0003], scored[0.01]]
    assert pick["picked"] == min(scored, key=lambda value: (scored[value][0], scored[value][1] or 100.0)), \
        "fewest failed runs on validation, then the lower validation error"
    tuned = json.loads((repo / "data/runs/tiny/tuned/seed0/train.json").read_text())
    assert tuned["config"]["optimizer"]["learning_rate"] == pick["picked"] and tuned["config"]["picked"] == ["rate"]
    assert "## Sweep `rate`" in (repo / "reports/tiny/README.md").read_text()
    assert UP_TO_DATE in run("dvc status", repo).stdout
    points = run_records(repo, "rate_0_0003")

    # Snakemake: a new value trains that point only, then picks again and retrains what takes the pick.
    edit_params(repo, add_sweep([0.0003, 0.01, 0.003]))
    assert planned_jobs(repo) == {("train", "study=tiny, variant=rate_0_003"), ("pick", "study=tiny, sweep=rate"),
                                  ("train", "study=tiny, variant=tuned"), ("report", "study=tiny"), ("index", ""), ("all", "")}
    run("snakemake --cores 2", repo)
    assert run_records(repo, "rate_0_0003") == points
    assert UP_TO_DATE in run("dvc status", repo).stdout

    # DVC: the same after another change of the values (the first `dvc repro` regenerates dvc.yaml).
    edit_params(repo, add_sweep([0.0003, 0.01, 0.001]))
    run("dvc repro", repo, check=False)
    output = run("dvc repro", repo).stdout
    assert ran_stages(output) - {"index"} == {"configure", "train-tiny-rate_0_001", "pick-tiny-rate", "train-tiny-tuned", "report-tiny"}
    assert run_records(repo, "rate_0_0003") == points
    assert len(json.loads((repo / "data/runs/tiny/sweeps/rate.json").read_text())["points"]) == 3


def stale_in_snakemake(repo):
    """The jobs `snakemake -n` would run, named as DVC names its stages."""
    return {"-".join([rule] + [value.split("=")[1] for value in wildcards.split(", ") if value]) for rule, wildcards in planned_jobs(repo)
            if rule != "all"}


def add_mlp_variant(params):
    """A variant of another model family beside the 1989 net (each variant then names its model in full)."""
    study = params["studies"]["tiny"]
    lecun = study["base"]["model"]
    study["base"]["model"] = {"name": lecun["name"]}
    study["variants"]["paper"] = {"model": lecun}
    study["variants"]["adamw"]["model"] = {**lecun, **study["variants"]["adamw"]["model"]}
    study["variants"]["mlp"] = {"model": {"name": "mlp", "depth": 2, "width": 16, "initialization": "he"}, "loss": "cross_entropy"}


def test_a_code_change_reruns_exactly_the_stages_that_run_that_code_in_both_orchestrators(built_tiny_repo):
    repo = built_tiny_repo
    edit_params(repo, add_mlp_variant)
    run("snakemake --cores 2", repo)  # the mlp variant (the others resolve as before) and the reports
    assert stage_status(repo) == set() and stale_in_snakemake(repo) == set()
    runs = {variant: {f"train-tiny-{variant}"} for variant in ("paper", "adamw", "mlp")}
    reports = {"report-tiny", "index"}
    # per change: the stages that run the changed file (what `dvc status` lists), and what `snakemake -n`
    # lists: those and the stages downstream of them, which rerun once their inputs change
    cases = [("src/reprolab/reporting/page.py", reports, set()),  # a report module: the reports, no training
             ("src/reprolab/models/mlp.py", runs["mlp"], reports),  # a model: the variants that build it
             ("src/reprolab/training/engine.py", {name for names in runs.values() for name in names}, reports)]  # the engine: every run
    for changed, running_it, downstream in cases:
        with open(repo / changed, "a") as handle:
            handle.write("# a one-line change\n")
        assert stage_status(repo) == running_it, changed
        assert stale_in_snakemake(repo) == running_it | downstream, changed
        if changed != cases[-1][0]:
            run("snakemake --cores 2", repo)
    run("reprolab run data/jobs/report-tiny.json", repo)  # the runs as they are, after the engine changed under them
    provenance = (repo / "reports" / "tiny" / "README.md").read_text().split("## Provenance")[1]
    assert "training code: `RUNS MADE BY OTHER CODE: 6 runs" in provenance


def test_a_recurrent_variant_on_generated_sequences_trains_under_both_orchestrators(tiny_repo):
    repo = tiny_repo

    def add_sequences(params):
        params["datasets"]["sequences"] = {"source": "mnist1d", "train_size": 200, "test_size": 100}
        params["studies"]["tiny"]["variants"]["lstm_zoneout"] = {  # its model block replaces the base's lecun1989 block
            "dataset": "sequences", "loss": "cross_entropy", "batch_size": 20, "epochs": 2,
            "model": {"name": "recurrent", "cell": "lstm", "units": 4, "bidirectional": False, "readout": "last", "recurrent_dropout": 0.0,
                      "state_dropout": 0.0, "zoneout_cell": 0.5, "zoneout_hidden": 0.05, "normalization": "layernorm"},
            "optimizer": {"name": "adamw", "learning_rate": 1.0e-2, "weight_decay": 0.0}}

    edit_params(repo, add_sequences)
    run("reprolab sync", repo)  # the new variant's stage into dvc.yaml
    assert ran_stages(run("dvc repro train-tiny-lstm_zoneout", repo).stdout) == {"configure", "prepare-sequences", "train-tiny-lstm_zoneout"}
    runs = repo / "data/runs/tiny/lstm_zoneout"
    by_dvc = {seed: (runs / f"seed{seed}/metrics.json").read_text() for seed in (0, 1)}
    train_info = json.loads((runs / "seed0/train.json").read_text())
    assert train_info["status"] == "ok" and train_info["config"]["dataset"] == "sequences"
    assert train_info["config"]["model"]["name"] == "recurrent" and "activation" not in train_info["config"]["model"]
    assert json.loads(by_dvc[0])["test_examples"] == 100

    run(f"rm -rf {runs}", repo)
    run("snakemake --cores 2 data/runs/tiny/lstm_zoneout", repo)
    assert {seed: (runs / f"seed{seed}/metrics.json").read_text() for seed in (0, 1)} == by_dvc, "the same seeds give the same metrics"


def test_compressed_variants_train_after_their_source_under_both_orchestrators(tiny_repo):
    repo = tiny_repo

    def add_compression(params):
        tiny = params["studies"]["tiny"]["variants"]
        tiny["dense"] = {"model": {"name": "dense", "widths": [16], "batchnorm": False, "binarize": "none", "prunable": False},
                         "loss": "cross_entropy", "optimizer": {"name": "adamw", "learning_rate": 1.0e-2, "weight_decay": 0.0},
                         "batch_size": 16, "measure_inference": True}
        tiny["dense_int8"] = {"extends": "dense", "starts_from": {"variant": "dense"}, "quantize": "int8", "epochs": 0}
        params["studies"]["tiny"]["lottery"] = {"from": "dense", "rounds": 1, "fraction": 0.5, "classifier_fraction": 0.25}

    edit_params(repo, add_compression)
    run("reprolab sync", repo)
    assert ran_stages(run("dvc repro train-tiny-ticket_r1 train-tiny-dense_int8", repo).stdout) == {
        "configure", "prepare-digits", "train-tiny-dense", "train-tiny-ticket_r1", "train-tiny-dense_int8"}
    runs = repo / "data/runs/tiny"
    by_dvc = {variant: {seed: json.loads((runs / f"{variant}/seed{seed}/metrics.json").read_text()) for seed in (0, 1)}
              for variant in ("dense", "dense_int8", "ticket_r1")}
    ticket = by_dvc["ticket_r1"][0]
    assert 0.45 < ticket["sparsity"] < 0.5 and ticket["packed_format"] == "sparse float32 + 1-bit mask"
    assert by_dvc["dense_int8"][0]["packed_format"] == "int8 kernels" and by_dvc["dense_int8"][0]["saved_bytes"] < by_dvc["dense"][0]["saved_bytes"]
    assert json.loads((runs / "dense_int8/seed0/train.json").read_text())["epochs_completed"] == 0

    run(f"rm -rf {runs}/dense {runs}/dense_int8 {runs}/ticket_r1", repo)
    run("snakemake --cores 2 data/runs/tiny/ticket_r1 data/runs/tiny/dense_int8", repo)
    for variant, by_seed in by_dvc.items():
        for seed, metrics in by_seed.items():
            again = json.loads((runs / f"{variant}/seed{seed}/metrics.json").read_text())
            assert again["test_error_percent"] == metrics["test_error_percent"], (variant, seed)
    run("dvc repro -f -s train-tiny-dense", repo)  # the source retrained: new outputs (its wall times differ)
    assert {"train-tiny-dense_int8", "train-tiny-ticket_r1"} <= stage_status(repo), "a retrained source reruns its derived runs"
