"""The job graph: derived once from params.yaml, identical in Snakemake and DVC, light to import,
and each job handed what it reads in its own job file."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import yaml
from conftest import ROOT, TINY_PARAMS, run, write_tiny_project

from reprolab.planning import code, dvc_yaml, jobs, stamps
from reprolab.planning.checks import MODEL_SETTINGS
from reprolab.planning.graph import build_plan


def test_committed_dvc_yaml_and_job_files_are_generated_from_params_yaml(monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = build_plan("params.yaml")
    assert (ROOT / "dvc.yaml").read_text() == dvc_yaml.render_dvc_yaml(plan), "run `reprolab sync` and commit dvc.yaml"
    committed = subprocess.run(["git", "ls-files", jobs.JOBS_FOLDER], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert sorted(committed) == sorted(job.job_file for job in plan.jobs), "run `reprolab configure` and commit data/jobs/"
    assert all((ROOT / job.job_file).read_text() == jobs.render(plan, job) for job in plan.jobs)


def test_each_variant_is_one_train_job_writing_every_seeds_run_into_its_directory():
    plan = build_plan(ROOT / "params.yaml")
    trains = {job.wildcards["variant"]: job for job in plan.jobs if job.wildcards.get("study") == "lecun1989" and job.stage == "train"}
    assert set(trains) == {"paper", "softmax_ce", "adamw", "augment", "dropout_relu", "batched"}
    assert trains["paper"].outputs == {"runs": "data/runs/lecun1989/paper"}
    assert trains["paper"].settings["seeds"] == [0, 1, 2] and trains["paper"].settings["config"]["epochs"] == 23
    assert trains["paper"].command == "reprolab run data/jobs/train-lecun1989-paper.json"
    assert {job.stage for job in plan.jobs} == {"prepare", "train", "pick", "proxies", "plot", "report", "index"}


def tiny_plan(tmp_path, change=lambda params: None):
    params = yaml.safe_load(TINY_PARAMS.read_text())
    change(params)
    return build_plan(write_tiny_project(tmp_path, params))


def job_files(tmp_path, plan):
    return {job.name: jobs.render(plan, job) for job in plan.jobs}


def test_a_job_file_changes_exactly_when_what_its_job_reads_changes(tmp_path):
    before = job_files(tmp_path, tiny_plan(tmp_path))
    after = job_files(tmp_path, tiny_plan(tmp_path, lambda params: params["studies"]["tiny"]["variants"]["adamw"].update(epochs=3)))
    assert {name for name in before if before[name] != after[name]} == {"train-tiny-adamw", "report-tiny"}
    after = job_files(tmp_path, tiny_plan(tmp_path, lambda params: params["studies"]["tiny"]["base"]["optimizer"].update(learning_rate=0.1)))
    assert {name for name in before if before[name] != after[name]} == {"train-tiny-paper", "report-tiny"}, "adamw sets its own learning rate"
    after = job_files(tmp_path, tiny_plan(tmp_path, lambda params: params.update(scale="full")))
    assert {name for name in before if before[name] != after[name]} == {"train-tiny-paper", "report-tiny"}, "only paper has a full overlay"


def test_a_sweep_is_its_points_runs_then_a_pick_job_feeding_the_variants_that_take_the_pick():
    plan = build_plan(ROOT / "params.yaml")
    study_jobs = [job for job in plan.jobs if job.wildcards.get("study") == "tricks_of_the_trade"]
    (pick,) = [job for job in study_jobs if job.stage == "pick"]
    assert pick.outputs == {"pick": "data/runs/tricks_of_the_trade/sweeps/noise_eta.json"}
    points = {"noise_eta_0_01", "noise_eta_0_03", "noise_eta_0_1", "noise_eta_0_3", "noise_eta_1_0"}
    assert set(pick.inputs) == {f"data/runs/tricks_of_the_trade/{point}" for point in points}
    takers = {job.wildcards["variant"] for job in study_jobs if pick.outputs["pick"] in job.inputs and job.stage == "train"}
    assert takers == {"simple_noise", "simple_clip_noise", "he_clip_noise", "zero_clip_noise", "shallow_noise"}
    readers = {job.stage for job in study_jobs if pick.outputs["pick"] in job.inputs and job.stage != "train"}
    assert readers == {"report", "plot"}
    point = next(job for job in study_jobs if job.stage == "train" and job.wildcards["variant"] == "noise_eta_0_3")
    assert point.settings["config"]["optimizer"]["gradient_noise"]["eta"] == 0.3
    assert "values" not in json.dumps(point.settings), "adding a value must not retrain the other points"


def test_a_card_plot_is_a_job_reading_only_its_variants_runs_and_feeding_the_report():
    plan = build_plan(ROOT / "params.yaml")
    depth = plan.job("plot", study="normalization", plot="error_vs_depth")
    assert depth.outputs == {"plot": "reports/normalization/plots/error_vs_depth.png"}
    read = {path.split("/")[3] for path in depth.inputs if path.startswith("data/runs/")}
    assert read == {f"{normalization}_{depth}" for normalization in ("batchnorm", "none", "nf", "weightnorm") for depth in ("shallow", "deep")}
    assert depth.outputs["plot"] in plan.job("report", study="normalization").inputs


def test_a_search_space_is_a_train_job_per_drawn_architecture_and_one_proxies_job():
    plan = build_plan(ROOT / "params.yaml")
    study_jobs = [job for job in plan.jobs if job.wildcards.get("study") == "zero_cost_nas"]
    trained = {job.wildcards["variant"] for job in study_jobs if job.stage == "train"}
    (proxies,) = [job for job in study_jobs if job.stage == "proxies"]
    assert len(trained) >= 60 and set(proxies.settings["configs"]) == trained
    assert proxies.inputs == ["data/prepared/usps.npz", "data/prepared/usps.json"]  # scored at init: no training needed
    assert {job.stage for job in plan.jobs if proxies.outputs["proxies"] in job.inputs} == {"report", "plot"}


def test_planning_imports_neither_keras_nor_tensorflow():
    source = ("import sys; from reprolab.planning.graph import build_plan; build_plan('params.yaml'); "
              "print(sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", source], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def snakemake_dry_run_jobs(repo):
    """command -> inputs and outputs of every job in Snakemake's own dry run (`-n -p --forceall`)."""
    found, current = {}, None
    for line in run("snakemake -n -p --forceall --cores 1", repo).stdout.splitlines():
        stripped = line.strip()
        if line.startswith(("rule ", "localrule ")):
            current = {"outputs": set(), "inputs": set()} if not line.split()[1].startswith("all") else None
        elif current is not None and stripped.startswith(("input:", "output:")):
            key = "inputs" if stripped.startswith("input:") else "outputs"
            current[key] |= {item.strip() for item in stripped.split(":", 1)[1].split(",")}
        elif current is not None and stripped.startswith("Shell command:"):
            found[stripped.split(":", 1)[1].split(" > ")[0].strip()] = current
            current = None
    return found


def test_snakemake_and_dvc_run_the_same_jobs(tiny_repo):
    """Every Snakemake job (from its own DAG) is a DVC stage with the same command, inputs and outputs,
    Snakemake's code stamp standing for the files it lists; DVC adds the configure stage, which
    Snakemake does on every call."""
    stages = yaml.safe_load((tiny_repo / "dvc.yaml").read_text())["stages"]
    dvc_jobs = {
        stage["cmd"]: {
            "outputs": {next(iter(out)) if isinstance(out, dict) else out for out in stage["outs"] + stage.get("metrics", [])},
            "inputs": set(stage.get("deps", [])),
        }
        for name, stage in stages.items() if name != dvc_yaml.CONFIGURE
    }
    snakemake_jobs = snakemake_dry_run_jobs(tiny_repo)
    for job in snakemake_jobs.values():
        (stamp,) = [name for name in job["inputs"] if name.startswith(stamps.STAMPS_FOLDER)]
        job["inputs"] = (job["inputs"] - {stamp}) | {line.split("  ")[1] for line in (tiny_repo / stamp).read_text().splitlines()}
    assert snakemake_jobs == dvc_jobs
    assert len(dvc_jobs) == 1 + 2 + 1 + 1
    assert {next(iter(out)) for out in stages[dvc_yaml.CONFIGURE]["outs"]} == {f"data/jobs/{name}.json" for name in stages if name != "configure"}


def test_accelerator_gpu_asks_for_a_gpu_per_training_job_and_refuses_to_run_without_one(tiny_repo):
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump({"accelerator": "gpu", **params}))
    resources = {}
    for line in run("snakemake -n --cores 1", tiny_repo).stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:"):
            resources.setdefault(rule, set()).add("gpu=1" in line)
    assert resources["train"] == {True} and resources["prepare"] == {False}

    # With no GPU visible the job stops before loading data, naming the setting and the fix.
    refused = run("reprolab run data/jobs/train-tiny-paper.json", tiny_repo, check=False, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert refused.returncode == 1 and "accelerator: gpu" in refused.stderr and "set accelerator: cpu" in refused.stderr


def test_a_missing_job_file_is_an_error_naming_the_closest_job_and_how_to_write_them(tmp_path, monkeypatch, capsys):
    from reprolab import cli

    monkeypatch.chdir(tmp_path)
    jobs.write_job_files(tiny_plan(tmp_path))
    assert cli.main(["run", "data/jobs/train-tiny-papr.json"]) == 1
    error = capsys.readouterr().err
    assert "no such job file (did you mean data/jobs/train-tiny-paper.json?)" in error and "`reprolab configure`" in error


def test_job_files_are_rewritten_only_when_they_change_and_removed_with_their_job(tmp_path):
    larger = tiny_plan(tmp_path, lambda params: params["studies"]["tiny"]["variants"].update(relu={"model": {"activation": "relu"}}))
    assert len(jobs.write_job_files(larger, tmp_path)) == len(larger.jobs)
    assert jobs.write_job_files(larger, tmp_path) == []
    assert jobs.write_job_files(tiny_plan(tmp_path), tmp_path) == ["report-tiny"]
    assert not (tmp_path / "data/jobs/train-tiny-relu.json").exists()


def test_a_sweep_picks_the_fewest_failures_then_the_lowest_validation_error():
    from reprolab import sweeps

    points = [{"failed": 1, "validation_error_mean": 2.0}, {"failed": 0, "validation_error_mean": 0.0},
              {"failed": 0, "validation_error_mean": 3.0}, {"failed": 0, "validation_error_mean": None}]
    assert sweeps.choose(points) == 1  # a perfect 0% validation error is a value like any other
    assert sweeps.choose([{"failed": 2, "validation_error_mean": None}, {"failed": 2, "validation_error_mean": None}]) == 0


def test_each_stage_depends_on_the_code_it_runs_in_both_orchestrators():
    plan = build_plan(ROOT / "params.yaml")
    mlp_train = plan.job("train", study="tricks_of_the_trade", variant="simple")
    assert {"src/reprolab/training/engine.py", "src/reprolab/training/evaluate.py", "src/reprolab/models/mlp.py"} <= set(mlp_train.code)
    assert "src/reprolab/models/lecun1989.py" not in mlp_train.code, "a model's module reruns only the variants that build it"
    report = plan.job("report", study="lecun1989")
    assert "src/reprolab/reporting/page.py" in report.code and "src/reprolab/training/engine.py" not in report.code
    stages = dvc_yaml.dvc_stages(plan)["stages"]
    assert all(set(job.dependencies) == set(stages[job.name]["deps"]) for job in plan.jobs)
    assert mlp_train.snakemake_inputs == [*mlp_train.dependencies[:-len(mlp_train.code)], "data/jobs/code/train-mlp.sha256"]
    assert set(code.code_files("configure")) <= set(stages[dvc_yaml.CONFIGURE]["deps"])


def test_code_stamps_change_with_the_code_they_list_and_carry_its_newest_time(tmp_path):
    shutil.copytree(ROOT / "src", tmp_path / "src")
    plan = tiny_plan(tmp_path)
    train_stamp = tmp_path / stamps.stamp_path("train", plan.job("train", study="tiny", variant="paper").code)
    assert sorted(stamps.write_code_stamps(plan, tmp_path)) == sorted({stamps.stamp_path(job.stage, job.code) for job in plan.jobs})
    listed = dict(line.split("  ")[::-1] for line in train_stamp.read_text().splitlines())
    assert listed["src/reprolab/models/lecun1989.py"] == hashlib.sha256((tmp_path / "src/reprolab/models/lecun1989.py").read_bytes()).hexdigest()
    model = tmp_path / "src/reprolab/models/lecun1989.py"
    os.utime(model, (model.stat().st_mtime + 60,) * 2)
    unplanned = tmp_path / stamps.STAMPS_FOLDER / "train-gone.sha256"
    unplanned.write_text("")
    assert stamps.write_code_stamps(plan, tmp_path) == [], "a bare touch changes no stamp"
    assert not unplanned.exists(), "the stamp of a code set no job runs any more is removed"
    with open(model, "a") as handle:
        handle.write("# a one-line change\n")
    assert stamps.write_code_stamps(plan, tmp_path) == [train_stamp.relative_to(tmp_path).as_posix()]
    assert train_stamp.stat().st_mtime == model.stat().st_mtime, "as new as the newest file it lists, as that file is to Snakemake"


def test_every_module_is_tracked_by_some_stage():
    tracked = {name for names in code.CODE.values() for name in names}.union(*(code.model_files(model) for model in MODEL_SETTINGS))
    untracked = {"__init__.py", "cli.py", "lock.py", "snakemake_rules.py"} | {f"{package}/__init__.py" for package in ("models", "planning", "reporting", "training")}
    source = ROOT / code.SOURCE
    modules = {path.relative_to(source).as_posix() for path in source.rglob("*.py")}
    assert tracked <= modules, f"CODE names files that do not exist: {sorted(tracked - modules)}"
    assert modules - tracked == untracked, "a new module must be listed in planning/code.py's CODE"


def test_dvc_lock_loses_the_entries_of_stages_the_graph_no_longer_has(tmp_path):
    from reprolab import lock

    plan = tiny_plan(tmp_path)
    entry = {"cmd": "reprolab run x", "outs": [{"path": "x", "hash": "md5", "md5": "0" * 32}]}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {"train-tiny-paper": entry, "evaluate-tiny-paper-0": entry}}))
    assert lock.prune_removed_stages(plan, tmp_path) == 1
    assert list(yaml.safe_load((tmp_path / "dvc.lock").read_text())["stages"]) == ["train-tiny-paper"]
    os.utime(tmp_path / "dvc.lock", (0, 0))  # any rewrite would move the time from 1970
    assert lock.prune_removed_stages(plan, tmp_path) == 0
    assert (tmp_path / "dvc.lock").stat().st_mtime == 0, "a lock with nothing to remove is not rewritten"
