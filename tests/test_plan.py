"""The job graph: derived once from params.yaml, identical in Snakemake and DVC, light to import."""

import os
import subprocess
import sys

import yaml
from conftest import ROOT, run, write_tiny_project

from reprolab import plan


def test_committed_dvc_yaml_is_generated_from_params_yaml(monkeypatch):
    monkeypatch.chdir(ROOT)
    current = plan.build_plan("params.yaml")
    assert (ROOT / "dvc.yaml").read_text() == plan.render_dvc_yaml(current), "run `reprolab sync` and commit dvc.yaml"


def test_lecun1989_expands_to_every_variant_and_seed():
    jobs = [job for job in plan.build_plan(ROOT / "params.yaml").jobs if job.wildcards.get("study") == "lecun1989"]
    trains = {job.wildcards["variant"]: set(job.outputs.values()) for job in jobs if job.stage == "train"}  # seeds_at_once: in_turn
    variants = {"paper", "softmax_ce", "adamw", "augment", "dropout_relu", "batched"}
    assert set(trains) == variants
    assert all(f"data/runs/lecun1989/{variant}/seed{seed}/model.keras" in trains[variant] for variant in variants for seed in (0, 1, 2))
    assert [job.stage for job in jobs].count("evaluate") == 18


def test_a_sweep_is_its_points_runs_then_a_pick_job_feeding_the_variants_that_take_the_pick():
    jobs = [job for job in plan.build_plan(ROOT / "params.yaml").jobs if job.wildcards.get("study") == "tricks_of_the_trade"]
    (pick,) = [job for job in jobs if job.stage == "pick"]
    assert pick.outputs == {"pick": "data/runs/tricks_of_the_trade/sweeps/noise_eta.json"}
    points = {"noise_eta_0_01", "noise_eta_0_03", "noise_eta_0_1", "noise_eta_0_3", "noise_eta_1_0"}
    assert {path.split("/")[3] for path in pick.inputs} == points
    assert all(path.endswith(("metrics.json", "train.json", "history.csv", "predictions.npz")) for path in pick.inputs)
    takers = {job.wildcards["variant"] for job in jobs if pick.outputs["pick"] in job.inputs and job.stage == "train"}
    assert takers == {"simple_noise", "simple_clip_noise", "he_clip_noise", "zero_clip_noise", "shallow_noise"}
    readers = {job.stage for job in jobs if pick.outputs["pick"] in job.inputs and job.stage != "train"}
    assert readers == {"report", "plot"}
    point = next(job for job in jobs if job.stage == "train" and job.wildcards["variant"] == "noise_eta_0_3")
    assert "studies.tricks_of_the_trade.sweeps.noise_eta.values" not in point.params, "adding a value must not retrain the others"


def test_a_card_plot_is_a_job_reading_only_its_variants_runs_and_feeding_the_report():
    jobs = plan.build_plan(ROOT / "params.yaml").jobs
    depth = next(job for job in jobs if job.stage == "plot" and job.wildcards == {"study": "normalization", "plot": "error_vs_depth"})
    assert depth.outputs == {"plot": "reports/normalization/plots/error_vs_depth.png"}
    read = {path.split("/")[3] for path in depth.inputs if path.startswith("data/runs/")}
    assert read == {f"{normalization}_{depth}" for normalization in ("batchnorm", "none", "nf", "weightnorm") for depth in ("shallow", "deep")}
    report = next(job for job in jobs if job.stage == "report" and job.wildcards == {"study": "normalization"})
    assert depth.outputs["plot"] in report.inputs


def test_a_search_space_is_a_train_and_evaluate_job_per_drawn_architecture_and_one_proxies_job():
    jobs = [job for job in plan.build_plan(ROOT / "params.yaml").jobs if job.wildcards.get("study") == "zero_cost_nas"]
    trained = {job.wildcards["variant"] for job in jobs if job.stage == "train"}
    assert len(trained) >= 60 and trained == {job.wildcards["variant"] for job in jobs if job.stage == "evaluate"}
    (proxies,) = [job for job in jobs if job.stage == "proxies"]
    assert proxies.inputs == ["data/prepared/usps.npz", "data/prepared/usps.json"]  # scored at init: no training needed
    assert "studies.zero_cost_nas.search_space.architectures" in proxies.params
    readers = [job for job in jobs if proxies.outputs["proxies"] in job.inputs]
    assert {job.stage for job in readers} == {"report", "plot"}


def test_planning_imports_neither_keras_nor_tensorflow():
    code = "import sys; from reprolab import plan; plan.build_plan('params.yaml'); print(sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def snakemake_dry_run_jobs(repo):
    """command -> inputs and outputs of every job in Snakemake's own dry run (`-n -p --forceall`)."""
    jobs, current = {}, None
    for line in run("snakemake -n -p --forceall --cores 1", repo).stdout.splitlines():
        stripped = line.strip()
        if line.startswith(("rule ", "localrule ")):
            current = {"outputs": set(), "inputs": set()} if not line.split()[1].startswith("all") else None
        elif current is not None and stripped.startswith(("input:", "output:")):
            key = "inputs" if stripped.startswith("input:") else "outputs"
            current[key] |= {item.strip() for item in stripped.split(":", 1)[1].split(",")}
        elif current is not None and stripped.startswith("Shell command:"):
            jobs[stripped.split(":", 1)[1].split(" > ")[0].strip()] = current
            current = None
    return jobs


def test_snakemake_and_dvc_run_the_same_jobs(tiny_repo):
    """Every Snakemake job (from its own DAG) is a DVC stage with the same command, inputs and outputs."""
    stages = yaml.safe_load((tiny_repo / "dvc.yaml").read_text())["stages"]
    dvc_jobs = {
        stage["cmd"]: {
            "outputs": {next(iter(out)) if isinstance(out, dict) else out for out in stage["outs"] + stage.get("metrics", [])},
            "inputs": set(stage.get("deps", [])),
        }
        for stage in stages.values()
    }
    assert snakemake_dry_run_jobs(tiny_repo) == dvc_jobs
    assert len(dvc_jobs) == 1 + 2 * 2 * 2 + 1 + 1


def test_accelerator_gpu_asks_for_a_gpu_per_training_job_and_refuses_to_run_without_one(tiny_repo):
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump({"accelerator": "gpu", **params}))
    resources = {}
    for line in run("snakemake -n --cores 1", tiny_repo).stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:"):
            resources.setdefault(rule, set()).add("gpu=1" in line)
    assert resources["train"] == resources["evaluate"] == {True} and resources["prepare"] == {False}
    assert all("accelerator" in job.params for job in plan.build_plan(tiny_repo / "params.yaml").jobs if job.stage in ("train", "evaluate"))

    # With no GPU visible the job stops before loading data, naming the setting and the fix.
    refused = run("reprolab train --study tiny --variant paper --seed 0", tiny_repo, check=False, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert refused.returncode == 1 and "accelerator: gpu" in refused.stderr and "set accelerator: cpu" in refused.stderr


def test_seeds_at_once_plans_one_train_job_per_variant_writing_every_seeds_run(tmp_path):
    params = yaml.safe_load((ROOT / "tests" / "data" / "tiny_params.yaml").read_text())
    params["seeds_at_once"] = "in_turn"
    target = write_tiny_project(tmp_path, params)
    jobs = plan.build_plan(target).jobs
    trains = {job.name: job for job in jobs if job.stage == "train"}
    assert set(trains) == {"train-tiny-paper", "train-tiny-adamw"}
    assert trains["train-tiny-paper"].command.endswith("--study tiny --variant paper --seeds 0 1 --threads 1")
    assert sorted(trains["train-tiny-paper"].outputs.values()) == sorted(plan.path(kind, study="tiny", variant="paper", seed=seed)
                                                        for kind in ("model", "history", "train_info") for seed in (0, 1))
    evaluates = {job.name: job for job in jobs if job.stage == "evaluate"}
    assert set(evaluates) == {f"evaluate-tiny-{variant}-{seed}" for variant in ("paper", "adamw") for seed in (0, 1)}
    assert plan.path("model", study="tiny", variant="paper", seed=1) in evaluates["evaluate-tiny-paper-1"].inputs


def test_train_commands_must_match_seeds_at_once(tmp_path, capsys):
    from reprolab import cli

    params = yaml.safe_load((ROOT / "tests" / "data" / "tiny_params.yaml").read_text())
    one_by_one = str(write_tiny_project(tmp_path, params))
    assert cli.main(["--params", one_by_one, "train", "--study", "tiny", "--variant", "paper", "--seeds", "0", "1"]) == 1
    assert "plans only with seeds_at_once: in_turn or vmap; train one seed with --seed N" in capsys.readouterr().err
    params["seeds_at_once"] = "vmap"
    at_once = str(write_tiny_project(tmp_path, params))
    assert cli.main(["--params", at_once, "train", "--study", "tiny", "--variant", "paper", "--seeds", "0"]) == 1
    assert "sets seeds_at_once: vmap, so one job trains all of study tiny's seeds (0 1), not --seeds 0: run `reprolab train" in capsys.readouterr().err


def test_a_sweep_picks_the_fewest_failures_then_the_lowest_validation_error():
    from reprolab import sweeps

    points = [{"failed": 1, "validation_error_mean": 2.0}, {"failed": 0, "validation_error_mean": 0.0},
              {"failed": 0, "validation_error_mean": 3.0}, {"failed": 0, "validation_error_mean": None}]
    assert sweeps.choose(points) == 1  # a perfect 0% validation error is a value like any other
    assert sweeps.choose([{"failed": 2, "validation_error_mean": None}, {"failed": 2, "validation_error_mean": None}]) == 0


def test_each_stage_depends_on_the_code_it_runs_in_both_orchestrators():
    current = plan.build_plan(ROOT / "params.yaml")
    mlp_train = current.job("train", study="tricks_of_the_trade", variant="simple")
    assert {"src/reprolab/train.py", "src/reprolab/models/mlp.py"} <= set(mlp_train.code)
    assert "src/reprolab/models/lecun1989.py" not in mlp_train.code, "a model's module reruns only the variants that build it"
    report = current.job("report", study="lecun1989")
    assert "src/reprolab/reporting/page.py" in report.code and "src/reprolab/train.py" not in report.code
    assert "src/reprolab/evaluate.py" in current.job("evaluate", study="lecun1989", variant="paper", seed=0).code
    stages = plan.dvc_stages(current)["stages"]
    assert all(set(job.code) <= set(stages[job.name]["deps"]) for job in current.jobs)


def test_every_module_outside_the_planning_side_is_tracked_by_some_stage():
    tracked = {name for names in plan.CODE.values() for name in names} | {f"models/{model}.py" for model in ("cnn", "lecun1989", "mlp", "resnet")}
    planning_side = {"__init__.py", "cli.py", "config.py", "lock.py", "plan.py", "snakemake_rules.py", "reporting/__init__.py", "models/__init__.py"}
    modules = {path.relative_to(ROOT / plan.SOURCE).as_posix() for path in (ROOT / plan.SOURCE).rglob("*.py")}
    assert tracked <= modules, f"CODE names files that do not exist: {sorted(tracked - modules)}"
    assert modules - tracked == planning_side, "a new module must be listed in plan.CODE (or be planning-side)"
