"""Every path of the pipeline, once; `{study}`, `{variant}`, `{seed}`, `{dataset}` are also
Snakemake's wildcards. Imported by every job, so nothing but string templates here, and where a derived run's source lies."""

RUN = "data/runs/{study}/{variant}/seed{seed}"
PATHS = {
    "raw": "data/raw/{dataset}",
    "prepared": "data/prepared/{dataset}.npz",
    "prepared_meta": "data/prepared/{dataset}.json",
    "job": "data/jobs/{name}.json",  # what a job reads instead of params.yaml (see planning/jobs.py)
    "runs": "data/runs/{study}/{variant}",  # a train job's output: every seed's run, trained and evaluated
    "model": RUN + "/model.keras",
    "history": RUN + "/history.csv",
    "train_info": RUN + "/train.json",
    "initial_weights": RUN + "/initial_weights.npz",  # every variable before training, by path
    "metrics": RUN + "/metrics.json",
    "predictions": RUN + "/predictions.npz",
    # outside the run directory, which both orchestrators delete before they rerun a train job
    "checkpoint": "data/checkpoints/{study}/{variant}/seed{seed}",
    "proxies": "data/runs/{study}/proxies.json",
    "pick": "data/runs/{study}/sweeps/{sweep}.json",
    "card": "workflow/studies/{study}.yaml",
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
CARD_PATH = PATHS["card"]


def path(kind, **wildcards):
    return PATHS[kind].format(**wildcards)


def source_of(config, study_name):
    """The (study, variant) whose trained runs a derived run starts from: `starts_from`'s variant, of
    this study unless it names another."""
    source = config["starts_from"]
    return source.get("study", study_name), source["variant"]
