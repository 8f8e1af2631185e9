"""Expands params.yaml into the job graph both orchestrators run: study x variant x seed -> jobs,
with their commands, input and output paths and the params keys each depends on.

The Snakefile and dvc.yaml are both derived from `build_plan`; nothing here imports Keras.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import yaml

from reprolab import config
from reprolab.atomic import write_text

# Every path of the pipeline, once; `{study}`, `{variant}`, `{seed}`, `{dataset}` are also
# Snakemake's wildcards.
RUN = "data/runs/{study}/{variant}/seed{seed}"
PATHS = {
    "raw": "data/raw/{dataset}",
    "prepared": "data/prepared/{dataset}.npz",
    "prepared_meta": "data/prepared/{dataset}.json",
    "model": RUN + "/model.keras",
    "history": RUN + "/history.csv",
    "train_info": RUN + "/train.json",
    "backup": RUN + "/backup",
    "metrics": RUN + "/metrics.json",
    "predictions": RUN + "/predictions.npz",
    "proxies": "data/runs/{study}/proxies.json",
    "pick": "data/runs/{study}/sweeps/{sweep}.json",
    "card": config.CARD_PATH,
    "report": "reports/{study}/README.md",
    "report_html": "reports/{study}/report.html",
    "summary": "reports/{study}/summary.csv",
    "study_metrics": "reports/{study}/metrics.json",
    "verdicts": "reports/{study}/verdicts.json",
    "curves": "reports/{study}/curves.csv",
    "curves_figure": "reports/{study}/figures/learning_curves.png",
    "errors_figure": "reports/{study}/figures/test_error.png",
    "confusion_figure": "reports/{study}/figures/confusion.png",
    "misclassified_figure": "reports/{study}/figures/misclassified.png",
    "plot": "reports/{study}/plots/{plot}.png",
    "index": "reports/index.md",
    "index_html": "reports/index.html",
    "log": "logs/{stage}/{name}.log",
}
STAGE_OUTPUTS = {
    "prepare": ["prepared", "prepared_meta"],
    "train": ["model", "history", "train_info"],
    "evaluate": ["metrics", "predictions"],
    "proxies": ["proxies"],
    "pick": ["pick"],
    "report": ["report", "report_html", "summary", "study_metrics", "verdicts", "curves",
               "curves_figure", "errors_figure", "confusion_figure", "misclassified_figure"],
    "plot": ["plot"],
    "index": ["index", "index_html"],
}
# Outputs kept in git rather than DVC's cache, so results read without running anything.
GIT_TRACKED = set(STAGE_OUTPUTS["report"] + STAGE_OUTPUTS["plot"] + STAGE_OUTPUTS["index"])
DVC_YAML = "dvc.yaml"
DVC_YAML_HEADER = "# Generated from params.yaml by `reprolab sync` (Snakemake runs it too). Do not edit by hand.\n"
TRAIN_THREADS = 1
# The source each stage runs, under src/reprolab/: a change to one reruns exactly the stages that run
# it, in DVC (deps) and Snakemake (inputs). A train, evaluate or proxies job adds its models' own
# modules. The planning side (config.py, plan.py, cli.py) is left out: what it decides shows in the
# params, the commands and the graph themselves.
SOURCE = "src/reprolab/"
ENGINE = ("atomic.py", "checkpoint.py", "data.py", "environment.py", "optimizers.py", "outcomes.py", "per_example.py", "runtime.py",
          "seeds_at_once.py", "sweeps.py", "timing.py", "train.py", "models/layers.py", "models/macs.py", "models/normalization.py")
REPORTING = ("atomic.py", "outcomes.py", "sweeps.py") + tuple(f"reporting/{name}.py" for name in (
    "changes", "document", "figures", "index", "page", "plots", "provenance", "ranking", "stats", "study", "summary", "tables", "verdicts"))
CODE = {
    "prepare": ("atomic.py", "data.py"),
    "train": ENGINE,
    "evaluate": ("evaluate.py",) + ENGINE,
    "proxies": ("proxies.py",) + ENGINE,
    "pick": ("atomic.py", "outcomes.py", "sweeps.py"),
    "report": REPORTING,
    "plot": REPORTING,
    "index": REPORTING,
}


@dataclasses.dataclass(frozen=True)
class Job:
    """One node of the graph: a stage applied to one set of wildcards."""

    stage: str
    wildcards: dict
    command: str
    inputs: list
    outputs: dict
    params: list
    threads: int = 1
    gpus: int = 0
    settings: str = ""  # digest of the values of `params`: Snakemake reruns the job when it changes
    code: tuple = ()  # the source files it runs (CODE)

    @property
    def dependencies(self):
        """What the job depends on in both orchestrators: its input files and its code."""
        return [*self.inputs, *self.code]

    @property
    def name(self):
        """The DVC stage name and the log name: the stage and its wildcard values joined by '-'."""
        values = [str(self.wildcards[key]) for key in ("dataset", "study", "variant", "seed", "sweep", "plot") if key in self.wildcards]
        return "-".join([self.stage] + values)


@dataclasses.dataclass
class Plan:
    params_path: str
    params: dict
    jobs: list

    def job(self, stage, **wildcards):
        """The job of `stage` with these wildcard values (Snakemake passes them as strings)."""
        wanted = {key: str(value) for key, value in wildcards.items()}
        for job in self.jobs:
            if job.stage == stage and {key: str(value) for key, value in job.wildcards.items()} == wanted:
                return job
        raise KeyError(f"no {stage} job for {wanted} in {self.params_path}")

    def study_seeds(self):
        """Each study's training seeds (after `scale`)."""
        return {name: config.study_settings(self.params, name)["seeds"] for name in self.params["studies"]}

    def final_outputs(self):
        """Everything a full run produces: the targets of `snakemake`'s default rule."""
        return [path for job in self.jobs for path in job.outputs.values()]


def path(kind, **wildcards):
    return PATHS[kind].format(**wildcards)


def seed_group_outputs(study, seeds):
    """The paths one seeds_at_once train job writes: every seed's train outputs, `{variant}` left open."""
    return [PATHS[kind].format(study=study, variant="{variant}", seed=seed) for seed in seeds for kind in STAGE_OUTPUTS["train"]]


def code_files(stage, models=()):
    """The source files a job of `stage` runs, with the modules of the models it builds."""
    return tuple(SOURCE + name for name in sorted(set(CODE[stage]) | {f"models/{model}.py" for model in models}))


def code_digest(files, root="."):
    """sha256 over the files' names and contents: which code made a run."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (Path(root) / name).read_bytes())
    return digest.hexdigest()


def _models(params, study_name, job):
    """The model names a job builds: its variant's, or every variant's for the study's proxies."""
    if job.stage not in ("train", "evaluate", "proxies"):
        return ()
    variants = [job.wildcards["variant"]] if "variant" in job.wildcards else config.study_settings(params, study_name)["variants"]
    return {config.resolve_variant(params, study_name, variant)["model"]["name"] for variant in variants}


def _outputs(stage, wildcards):
    return {kind: path(kind, **wildcards) for kind in STAGE_OUTPUTS[stage]}


def _existing_keys(params, candidates):
    """The dotted keys among candidates that exist in params (DVC refuses missing ones)."""
    found = []
    for key in candidates:
        try:
            config.setting(params, key)
        except KeyError:
            continue
        found.append(key)
    return found


def _command(stage, params_path, **arguments):
    options = "".join(f" --{key} {value}" for key, value in arguments.items())
    params_option = "" if params_path == "params.yaml" else f" --params {params_path}"
    return f"reprolab {stage}{params_option}{options}"


def build_plan(params_path="params.yaml"):
    """Reads and validates params, then lists every job in dependency order."""
    params = config.read_params(params_path)
    jobs = []
    gpus = 1 if params.get("accelerator") == "gpu" else 0  # what each train/evaluate job asks the scheduler for
    used_datasets = sorted({study["dataset"] for study in params["studies"].values()})
    for dataset in used_datasets:
        wildcards = {"dataset": dataset}
        jobs.append(Job("prepare", wildcards, _command("prepare", params_path, dataset=dataset), [],
                        _outputs("prepare", wildcards), [f"datasets.{dataset}"]))
    for study_name in params["studies"]:
        study = config.study_settings(params, study_name)
        prepared = [path("prepared", dataset=study["dataset"]), path("prepared_meta", dataset=study["dataset"])]
        run_outputs, variant_outputs = [], {}
        for variant_name in study["variants"]:
            variant_keys = config.source_keys(params, study_name, variant_name) + _existing_keys(params, ["accelerator"])
            variant = {"study": study_name, "variant": variant_name}
            # a variant taking a sweep's pick trains after the pick job
            train_inputs = prepared + [path("pick", study=study_name, sweep=sweep)
                                       for sweep in config.resolve_variant(params, study_name, variant_name).get("picked", [])]
            if params.get("seeds_at_once"):  # one job writes every seed's run (see train.run)
                seeds = " ".join(map(str, study["seeds"]))
                jobs.append(Job("train", variant, _command("train", params_path, **variant, seeds=seeds, threads=TRAIN_THREADS), train_inputs,
                                {f"seed{seed}_{kind}": output for seed in study["seeds"]
                                 for kind, output in _outputs("train", {**variant, "seed": seed}).items()}, variant_keys, TRAIN_THREADS, gpus))
            for seed in study["seeds"]:
                wildcards = {**variant, "seed": seed}
                arguments = {**wildcards, "threads": TRAIN_THREADS}
                trained = _outputs("train", wildcards)
                if not params.get("seeds_at_once"):
                    jobs.append(Job("train", wildcards, _command("train", params_path, **arguments), train_inputs, trained, variant_keys,
                                    TRAIN_THREADS, gpus))
                # Evaluation reads the variant's config too (its loss), so `dvc status` lists it with its train stage.
                evaluate = Job("evaluate", wildcards, _command("evaluate", params_path, **arguments),
                               prepared + [trained["model"], trained["train_info"]],
                               _outputs("evaluate", wildcards), variant_keys, TRAIN_THREADS, gpus)
                jobs.append(evaluate)
                outputs = [trained["history"], trained["train_info"], *evaluate.outputs.values()]
                run_outputs += outputs
                variant_outputs.setdefault(variant_name, []).extend(outputs)
        picks = []
        for sweep_name, sweep in study.get("sweeps", {}).items():
            wildcards = {"study": study_name, "sweep": sweep_name}
            points = [output for value in sweep["values"] for output in variant_outputs[config.point_name(sweep_name, value)]]
            picks.append(Job("pick", wildcards, _command("pick", params_path, **wildcards), points, _outputs("pick", wildcards),
                             [f"studies.{study_name}.sweeps.{sweep_name}"]))
        jobs += picks
        proxy_outputs = []
        if "proxies" in study:
            # One job scores every architecture: in its own process each would spend longer importing Keras than scoring.
            wildcards = {"study": study_name}
            keys = [key for variant_name in study["variants"] for key in config.source_keys(params, study_name, variant_name, only=("model", "loss"))]
            proxies = Job("proxies", wildcards, _command("proxies", params_path, **wildcards), prepared, _outputs("proxies", wildcards),
                          list(dict.fromkeys(keys + _existing_keys(params, [f"studies.{study_name}.search_space.architectures",
                                                                             f"studies.{study_name}.proxies"]))))
            jobs.append(proxies)
            proxy_outputs = [proxies.outputs["proxies"]]
        card_path = path("card", study=study_name)
        plots = []
        for plot in config.read_card(study_name, Path(params_path).parent).get("plots", []):
            wildcards = {"study": study_name, "plot": plot["name"]}
            plots.append(Job("plot", wildcards, _command("plot", params_path, **wildcards),
                             [card_path] + [output for variant in config.plot_variants(study, plot) for output in variant_outputs[variant]]
                             + (proxy_outputs if plot["kind"] == "proxies" else [])
                             + ([path("pick", study=study_name, sweep=plot["sweep"])] if plot["kind"] == "sweep" else []),
                             _outputs("plot", wildcards), []))
        jobs += plots
        wildcards = {"study": study_name}
        # The report also depends on the study's variants and seeds, so that adding one makes
        # `dvc repro` reach a reprolab command, which notices a stale dvc.yaml (see ensure_dvc_yaml).
        report_keys = _existing_keys(params, ["scale"] + [f"studies.{study_name}.{key}" for key in ("baseline", "seeds", "variants", "search_space", "proxies", "sweeps", "full")])
        jobs.append(Job("report", wildcards, _command("report", params_path, study=study_name),
                        [card_path] + prepared + run_outputs + proxy_outputs + [job.outputs["pick"] for job in picks]
                        + [job.outputs["plot"] for job in plots],
                        _outputs("report", wildcards), report_keys))
    summaries = [path("verdicts", study=name) for name in params["studies"]]
    jobs.append(Job("index", {}, _command("index", params_path), summaries, _outputs("index", {}), []))
    return Plan(str(params_path), params, [dataclasses.replace(job, settings=_digest(params, job.params),
                                                               code=code_files(job.stage, _models(params, job.wildcards.get("study"), job)))
                                           for job in jobs])


def _digest(params, keys):
    """A short hash of the values under these dotted keys: what DVC compares for a stage's params."""
    values = {key: config.setting(params, key) for key in keys}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def dvc_stages(plan):
    """dvc.yaml's content: one stage per job; git keeps the reports, DVC's cache the rest."""
    stages = {}
    for job in plan.jobs:
        stage = {"cmd": job.command}
        if job.dependencies:
            stage["deps"] = job.dependencies
        if job.params:
            stage["params"] = list(job.params) if plan.params_path == "params.yaml" else [{plan.params_path: list(job.params)}]
        outs, metrics = [], []
        for kind, output in job.outputs.items():
            if kind == "study_metrics":
                metrics.append({output: {"cache": False}})
            elif kind in GIT_TRACKED:
                outs.append({output: {"cache": False}})
            else:
                outs.append(output)
        stage["outs"] = outs
        if metrics:
            stage["metrics"] = metrics
        stages[job.name] = stage
    plots = [{path("curves", study=name): {"x": "epoch", "y": list(config.study_settings(plan.params, name)["variants"]),
                                           "y_label": "test error % (mean over seeds)", "template": "linear"}}
             for name in plan.params["studies"]]
    return {"stages": stages, "plots": plots}


def render_dvc_yaml(plan):
    """dvc.yaml's text; every stage checks it, so libyaml's emitter (same text, ~8x faster) when present."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return DVC_YAML_HEADER + yaml.dump(dvc_stages(plan), Dumper=dumper, sort_keys=False, width=200)


def sync_dvc_yaml(plan, root="."):
    """Rewrites dvc.yaml when the plan changed; returns True if it wrote."""
    target = Path(root) / DVC_YAML
    text = render_dvc_yaml(plan)
    if target.exists() and target.read_text() == text:
        return False
    write_text(target, text)
    return True


def ensure_dvc_yaml(plan, root="."):
    """Keeps dvc.yaml in step with params.yaml when a stage runs under `dvc repro`. A change of
    params keys alone (a variant gained an override) is rewritten quietly; a change of jobs (a
    study, variant or seed added or removed) stops the stage and asks for a rerun, so DVC never
    silently skips new jobs. Only for the default params file, the one dvc.yaml describes."""
    target = Path(root) / DVC_YAML
    if plan.params_path != "params.yaml" or (target.exists() and target.read_text() == render_dvc_yaml(plan)):
        return
    previous = set((yaml.safe_load(target.read_text()) or {}).get("stages", {})) if target.exists() else None
    sync_dvc_yaml(plan, root)
    if previous is None:  # no dvc.yaml yet: DVC is not running this stage
        return
    added, removed = {job.name for job in plan.jobs} - previous, previous - {job.name for job in plan.jobs}
    if added or removed:
        changes = ", ".join([f"new {name}" for name in sorted(added)][:4] + [f"removed {name}" for name in sorted(removed)][:4])
        raise config.ParamsError(
            f"{DVC_YAML} did not match {plan.params_path} ({changes}) and has been regenerated: "
            "run `dvc repro` (or `snakemake`) again to run the new graph"
        )
