"""Expands params.yaml into the job graph both orchestrators run: one train job per study x
variant (all its seeds, trained then evaluated in one process), a prepare job per dataset, the
sweeps' picks, proxies, plots, reports and the index; each with its command, files, code and the
settings it reads, which the configure step writes into the job's own file.

The Snakefile and dvc.yaml are both derived from `build_plan`; nothing here imports Keras.
"""

import dataclasses
from pathlib import Path

from reprolab.planning import checks, variants
from reprolab.planning.code import code_files
from reprolab.planning.stamps import stamp_path
from reprolab.planning.paths import path, source_of

STAGE_OUTPUTS = {
    "prepare": ["prepared", "prepared_meta"],
    "train": ["runs"],
    "proxies": ["proxies"],
    "pick": ["pick"],
    "report": ["report", "report_html", "summary", "study_metrics", "verdicts", "curves",
               "curves_figure", "errors_figure", "confusion_figure", "misclassified_figure"],
    "plot": ["plot"],
    "index": ["index", "index_html"],
}
TRAIN_THREADS = 1
DEFAULT_SEEDS_AT_ONCE = "in_turn"


@dataclasses.dataclass(frozen=True)
class Job:
    """One node of the graph: a stage applied to one set of wildcards. `settings` is everything the
    job reads from params.yaml; it depends on them through its job file."""

    stage: str
    wildcards: dict
    inputs: list
    outputs: dict
    settings: dict
    threads: int = 1
    gpus: int = 0
    code: tuple = ()  # the source files it runs (planning/code.py)

    @property
    def name(self):
        """The DVC stage name, the job file's and the log's: the stage and its wildcard values joined by '-'."""
        values = [str(self.wildcards[key]) for key in ("dataset", "study", "variant", "sweep", "plot") if key in self.wildcards]
        return "-".join([self.stage] + values)

    @property
    def job_file(self):
        return path("job", name=self.name)

    @property
    def command(self):
        return f"reprolab run {self.job_file}"

    @property
    def dependencies(self):
        """What the job depends on in both orchestrators: its job file, its input files and its code."""
        return [self.job_file, *self.inputs, *self.code]

    @property
    def snakemake_inputs(self):
        """Snakemake's inputs: the dependencies, with one stamp of the code (planning/stamps.py) for its files."""
        return [self.job_file, *self.inputs, stamp_path(self.stage, self.code)]


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

    def final_outputs(self):
        """Everything a full run produces: the targets of `snakemake`'s default rule."""
        return [output for job in self.jobs for output in job.outputs.values()]

    @property
    def configure_command(self):
        return "reprolab configure" + ("" if self.params_path == "params.yaml" else f" --params {self.params_path}")

    def configure_inputs(self):
        """What the job files are made from: params.yaml and the cards (their plots are jobs)."""
        root = Path(self.params_path).parent
        return [self.params_path] + [(root / path("card", study=name)).as_posix() for name in self.params["studies"]]


def _outputs(stage, wildcards):
    return {kind: path(kind, **wildcards) for kind in STAGE_OUTPUTS[stage]}


def _prepared(dataset):
    return [path("prepared", dataset=dataset), path("prepared_meta", dataset=dataset)]


def _study_jobs(params, study_name, root, gpus):
    """One study's jobs in dependency order: train per variant, picks, proxies, plots, report."""
    study = variants.study_settings(params, study_name)
    dataset = study["dataset"]
    prepared = _prepared(dataset)
    configs = {name: variants.resolve_variant(params, study_name, name) for name in study["variants"]}
    runs = {name: path("runs", study=study_name, variant=name) for name in study["variants"]}
    jobs = []
    for variant_name, config in configs.items():
        wildcards = {"study": study_name, "variant": variant_name}
        picks = [path("pick", study=study_name, sweep=sweep) for sweep in config.get("picked", [])]  # trains after the pick
        sources = []
        if "starts_from" in config:  # trains after its source
            source_study, source_variant = source_of(config, study_name)
            sources = [path("runs", study=source_study, variant=source_variant)]
        jobs.append(Job("train", wildcards, _prepared(config["dataset"]) + picks + sources, _outputs("train", wildcards),
                        {"config": config, "seeds": study["seeds"], "seeds_at_once": params.get("seeds_at_once", DEFAULT_SEEDS_AT_ONCE),
                         "accelerator": params.get("accelerator", "cpu")},
                        TRAIN_THREADS, gpus, code_files("train", [config["model"]["name"]])))
    picks = []
    for sweep_name, sweep in study.get("sweeps", {}).items():
        wildcards = {"study": study_name, "sweep": sweep_name}
        points = {str(value): variants.point_name(sweep_name, value) for value in sweep["values"]}
        picks.append(Job("pick", wildcards, [runs[point] for point in points.values()], _outputs("pick", wildcards),
                         {"sweep": sweep, "seeds": study["seeds"], "points": [[value, point] for value, point in zip(sweep["values"], points.values())]},
                         code=code_files("pick")))
    jobs += picks
    proxy_outputs = []
    if "proxies" in study:
        # One job scores every architecture: in its own process each would spend longer importing Keras than scoring.
        wildcards = {"study": study_name}
        jobs.append(Job("proxies", wildcards, prepared, _outputs("proxies", wildcards),
                        {"dataset": dataset, "proxies": study["proxies"], "configs": configs}, TRAIN_THREADS, 0,
                        code_files("proxies", {config["model"]["name"] for config in configs.values()})))
        proxy_outputs = [jobs[-1].outputs["proxies"]]
    card = (root / path("card", study=study_name)).as_posix()
    reading = {"study": study, "configs": configs}  # what a report or plot reads of params.yaml
    plots = []
    for plot in variants.card_for(params, study_name, root).get("plots", []):
        wildcards = {"study": study_name, "plot": plot["name"]}
        plots.append(Job("plot", wildcards,
                         [card] + [runs[variant] for variant in variants.plot_variants(study, plot)]
                         + (proxy_outputs if plot["kind"] == "proxies" else [])
                         + ([path("pick", study=study_name, sweep=plot["sweep"])] if plot["kind"] == "sweep" else []),
                         _outputs("plot", wildcards), reading, code=code_files("plot")))
    jobs += plots
    wildcards = {"study": study_name}
    every_prepared = [name for dataset in sorted({config["dataset"] for config in configs.values()}) for name in _prepared(dataset)]
    jobs.append(Job("report", wildcards, [card] + every_prepared + list(runs.values()) + proxy_outputs + [job.outputs["pick"] for job in picks]
                    + [job.outputs["plot"] for job in plots], _outputs("report", wildcards), reading, code=code_files("report")))
    return jobs


def build_plan(params_path="params.yaml"):
    """Reads and validates params, then lists every job in dependency order."""
    params = checks.read_params(params_path)
    root = Path(params_path).parent
    gpus = 1 if params.get("accelerator") == "gpu" else 0  # what each train job asks the scheduler for
    study_jobs = [job for study_name in params["studies"] for job in _study_jobs(params, study_name, root, gpus)]
    used = {study["dataset"] for study in params["studies"].values()} | {job.settings["config"]["dataset"] for job in study_jobs if job.stage == "train"}
    jobs = [Job("prepare", {"dataset": dataset}, [], _outputs("prepare", {"dataset": dataset}), {"dataset": params["datasets"][dataset]},
                code=code_files("prepare")) for dataset in sorted(used)] + study_jobs
    jobs.append(Job("index", {}, [path("verdicts", study=name) for name in params["studies"]], _outputs("index", {}),
                    {"studies": list(params["studies"])}, code=code_files("index")))
    return Plan(str(params_path), params, jobs)
