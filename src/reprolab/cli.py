"""`reprolab <command>`: the thin shell both orchestrators call. The planning commands read
params.yaml (or --params), validate it first and exit with a one-line error a user can act on;
`reprolab run <job file>` runs one job from the file the plan wrote for it, without params.yaml."""

import argparse
import json
import os
import sys

from reprolab.planning.jobs import JobFileError, read_job
from reprolab.planning.loading import ParamsError
from reprolab.planning.paths import path, source_of


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="reprolab", description="Reproduce landmark deep-learning results from params.yaml.")
    parser.add_argument("--params", default="params.yaml", help="the params file (default: params.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check params.yaml against the schema and exit")
    commands.add_parser("plan", help="print the job graph derived from params.yaml as JSON")
    commands.add_parser("sync", help="regenerate dvc.yaml from params.yaml")
    commands.add_parser("configure", help="write every job's file (data/jobs/) and check that dvc.yaml is current")
    run = commands.add_parser("run", help="run one job: prepare, train (every seed of a variant, trained and evaluated), "
                                          "proxies, pick, plot, report or index")
    run.add_argument("job_file", help="the job's file, data/jobs/<job>.json (`reprolab plan` lists them)")
    commands.add_parser("commit-lock", help="record in dvc.lock every stage whose outputs exist (after a Snakemake run)")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        if arguments.command == "run":
            run_job(read_job(arguments.job_file))
        else:
            plan_command(arguments)
        return 0
    except (ParamsError, JobFileError, RuntimeError, ValueError) as error:
        print(f"reprolab {arguments.command}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # disk full, permissions: atomic writes left any previous output intact
        print(f"reprolab {arguments.command}: error: could not read or write {error.filename or 'a file'}: "
              f"{error.strerror or error}; free space or fix permissions, then rerun (earlier outputs are unchanged)", file=sys.stderr)
        return 1


def plan_command(arguments):
    """The commands that read params.yaml and build the whole plan."""
    from reprolab.planning import dvc_yaml, jobs
    from reprolab.planning.graph import build_plan

    plan = build_plan(arguments.params)
    command = arguments.command
    if command == "validate":
        print(f"{arguments.params}: valid ({len(plan.jobs)} jobs)")
    elif command == "plan":
        print(json.dumps([{"name": job.name, "command": job.command, "inputs": job.inputs, "outputs": list(job.outputs.values()),
                           "threads": job.threads} for job in plan.jobs], indent=2))
    elif command == "sync":
        print("dvc.yaml rewritten" if dvc_yaml.sync_dvc_yaml(plan) else "dvc.yaml already up to date")
    elif command == "configure":
        written = jobs.write_job_files(plan)
        print(f"{len(written)} of {len(plan.jobs)} job files written (the others were current)")
        dvc_yaml.ensure_dvc_yaml(plan)
    elif command == "commit-lock":
        from reprolab import lock

        lock.commit_finished(plan)


def describe(result):
    return ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}" for key, value in result.items()
                     if key in ("status", "test_error_percent", "train_error_percent", "wall_seconds", "epochs_completed"))


def run_job(job):
    """Runs one job; heavy imports (Keras, matplotlib) happen only here."""
    stage, wildcards, settings = job["stage"], job["wildcards"], job["settings"]
    label = "/".join(str(value) for value in wildcards.values())
    if stage == "prepare":
        from reprolab import data

        data.prepare(wildcards["dataset"], settings["dataset"], job["outputs"]["prepared"], job["outputs"]["prepared_meta"],
                     path("raw", dataset=wildcards["dataset"]))
    elif stage in ("train", "proxies"):
        if stage == "train":
            check_source(job)
        from reprolab.training import runtime

        runtime.configure(job["threads"], 0, settings.get("accelerator", "cpu"))
        if stage == "train":
            from reprolab.training import stage as train_stage

            for result in train_stage.run(job):
                print(f"train {label}/seed{result['seed']}: {describe(result)}")
        else:
            from reprolab.training import proxies

            record = proxies.run(job)
            print(f"proxies {label}: {len(record['variants'])} architectures x {len(record['seeds'])} init seeds in {record['seconds']:.1f}s")
            return
    elif stage == "pick":
        from reprolab import sweeps

        record = sweeps.pick(job)
        print(f"pick {label}: {record['key']} = {record['picked']} (on validation: "
              + ", ".join(f"{point['value']}: {point['failed']}/{point['runs']} failed, mean "
                          + ("-" if point["validation_error_mean"] is None else f"{point['validation_error_mean']:.2f}%") for point in record["points"]) + ")")
        return
    else:
        run_report(job)
    print(f"{stage} {label}: wrote {', '.join(job['outputs'].values())}")


def check_source(job):
    """A derived run's source (`starts_from`) must be trained at every seed: said before Keras starts,
    with the command that trains it (both orchestrators run the source first on their own)."""
    if "starts_from" not in job["settings"]["config"]:
        return
    study, variant = source_of(job["settings"]["config"], job["wildcards"]["study"])
    missing = [seed for seed in job["settings"]["seeds"] if not os.path.exists(path("model", study=study, variant=variant, seed=seed))]
    if missing:
        raise ValueError(f"{job['name']} starts from {study}/{variant}, which has no trained model at seeds {missing} "
                         f"({path('runs', study=study, variant=variant)}); train it first: `dvc repro train-{study}-{variant}` or "
                         f"`snakemake --cores all {path('runs', study=study, variant=variant)}`")


def run_report(job):
    """A report, plot or index job: these read the whole plan (a page shows the graph's commands), and
    a report checks that dvc.yaml is still current."""
    from reprolab.planning import dvc_yaml
    from reprolab.planning.graph import build_plan
    from reprolab.reporting import index, plots, study

    plan = build_plan(job["params"])
    if job["stage"] == "report":
        dvc_yaml.ensure_dvc_yaml(plan)
        study.run(plan, job["wildcards"]["study"])
    elif job["stage"] == "plot":
        plots.run_plot(plan, job["wildcards"]["study"], job["wildcards"]["plot"])
    else:
        index.run_index(plan)


def entry():
    """The `reprolab` command: main(), then an immediate exit. Every output is written atomically and
    closed by then, and TensorFlow's interpreter teardown alone costs ~1 s, paid by every job."""
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    entry()
