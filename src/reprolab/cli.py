"""`reprolab <stage>`: the thin shell both orchestrators call. Every command reads params.yaml
(or --params), validates it first and exits with a one-line error a user can act on."""

import argparse
import difflib
import json
import os
import sys

from reprolab import config
from reprolab import plan as planning


def _study_job_arguments(parser, several_seeds=False):
    parser.add_argument("--study", required=True)
    parser.add_argument("--variant", required=True)
    seeds = parser.add_mutually_exclusive_group(required=True) if several_seeds else parser
    seeds.add_argument("--seed", type=int, required=not several_seeds)
    if several_seeds:
        seeds.add_argument("--seeds", type=int, nargs="+", help="all of the variant's seeds in one job (params.yaml's seeds_at_once)")
    parser.add_argument("--threads", type=int, default=planning.TRAIN_THREADS, help="CPU threads for this job (Snakemake's `threads`)")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="reprolab", description="Reproduce landmark deep-learning results from params.yaml.")
    parser.add_argument("--params", default="params.yaml", help="the params file (default: params.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check params.yaml against the schema and exit")
    commands.add_parser("plan", help="print the job graph derived from params.yaml as JSON")
    commands.add_parser("sync", help="regenerate dvc.yaml from params.yaml")
    prepare = commands.add_parser("prepare", help="fetch, verify and prepare one dataset")
    prepare.add_argument("--dataset", required=True)
    _study_job_arguments(commands.add_parser("train", help="train one variant x seed (or all its seeds, --seeds)"), several_seeds=True)
    _study_job_arguments(commands.add_parser("evaluate", help="evaluate one trained variant x seed"))
    proxies = commands.add_parser("proxies", help="score the zero-cost proxies of a study's architectures at initialisation")
    proxies.add_argument("--study", required=True)
    pick = commands.add_parser("pick", help="pick a sweep's value from its points' validation errors")
    pick.add_argument("--study", required=True)
    pick.add_argument("--sweep", required=True)
    report = commands.add_parser("report", help="write reports/<study>/")
    report.add_argument("--study", required=True)
    plot = commands.add_parser("plot", help="draw one of a study card's extra figures")
    plot.add_argument("--study", required=True)
    plot.add_argument("--plot", required=True)
    commands.add_parser("index", help="write reports/index.md")
    commands.add_parser("commit-lock", help="record in dvc.lock every stage whose outputs exist (after a Snakemake run)")
    return parser.parse_args(argv)


def _require(plan, stage, **wildcards):
    """The planned job, or an error naming the first unknown wildcard and the values params.yaml declares for it."""
    try:
        return plan.job(stage, **wildcards)
    except KeyError:
        matching, given = [job.wildcards for job in plan.jobs if job.stage == stage], []
        for key, value in wildcards.items():
            declared = sorted({str(job[key]) for job in matching}, key=lambda name: (len(name), name) if name.isdigit() else (0, name))
            if str(value) not in declared:
                close = [] if str(value).isdigit() else difflib.get_close_matches(str(value), declared, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                scope = f" for {', '.join(given)}" if given else ""
                raise config.ParamsError(f"{plan.params_path} declares no {stage} job with {key} '{value}'{hint}; "
                                         f"declared{scope}: {', '.join(declared)}") from None
            matching = [job for job in matching if str(job[key]) == str(value)]
            given.append(f"{key} {value}")
        raise


def _job_seeds(plan, arguments):
    """The seeds a train or evaluate command runs, checked against the plan: `--seed N`, or for
    train under `seeds_at_once` (in_turn or vmap) exactly the study's seeds as `--seeds`."""
    study, variant = arguments.study, arguments.variant
    several = getattr(arguments, "seeds", None)
    if arguments.command == "evaluate" or not plan.params.get("seeds_at_once"):
        if several is not None:
            raise config.ParamsError(f"--seeds trains several seeds in one job, which {plan.params_path} plans only with "
                                     f"seeds_at_once: in_turn or vmap; train one seed with --seed N, or set seeds_at_once")
        _require(plan, arguments.command, study=study, variant=variant, seed=arguments.seed)
        return [arguments.seed]
    job = _require(plan, "train", study=study, variant=variant)
    planned = plan.study_seeds()[study]
    if several != planned:
        given = f"--seed {arguments.seed}" if several is None else "--seeds " + " ".join(map(str, several))
        raise config.ParamsError(f"{plan.params_path} sets seeds_at_once: {plan.params['seeds_at_once']}, so one job trains all of study {study}'s seeds "
                                 f"({' '.join(map(str, planned))}), not {given}: run `{job.command}`, or set seeds_at_once: false")
    return planned


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        plan = planning.build_plan(arguments.params)
        return dispatch(arguments, plan)
    except (config.ParamsError, RuntimeError, ValueError) as error:
        print(f"reprolab {arguments.command}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # disk full, permissions: atomic writes left any previous output intact
        print(f"reprolab {arguments.command}: error: could not read or write {error.filename or 'a file'}: "
              f"{error.strerror or error}; free space or fix permissions, then rerun (earlier outputs are unchanged)", file=sys.stderr)
        return 1


def dispatch(arguments, plan):
    command = arguments.command
    if command == "validate":
        print(f"{arguments.params}: valid ({len(plan.jobs)} jobs)")
    elif command == "plan":
        print(json.dumps([{"name": job.name, "command": job.command, "inputs": job.inputs, "outputs": list(job.outputs.values()),
                           "params": job.params, "threads": job.threads} for job in plan.jobs], indent=2))
    elif command == "sync":
        print("dvc.yaml rewritten" if planning.sync_dvc_yaml(plan) else "dvc.yaml already up to date")
    elif command == "commit-lock":
        from reprolab import lock

        lock.commit_finished(plan)
    else:
        planning.ensure_dvc_yaml(plan)
        run_stage(arguments, plan)
    return 0


def run_stage(arguments, plan):
    """Runs one pipeline stage; heavy imports (Keras, matplotlib) happen only here."""
    command = arguments.command
    if command == "prepare":
        from reprolab import data

        job = _require(plan, "prepare", dataset=arguments.dataset)
        data.prepare(arguments.dataset, plan.params["datasets"][arguments.dataset], job.outputs["prepared"],
                     job.outputs["prepared_meta"], planning.path("raw", dataset=arguments.dataset))
        print(f"prepared {arguments.dataset}: {job.outputs['prepared']}")
    elif command in ("train", "evaluate"):
        seeds = _job_seeds(plan, arguments)
        from reprolab import runtime

        runtime.configure(arguments.threads, seeds[0], plan.params.get("accelerator", "cpu"))
        if command == "train":
            from reprolab import train

            results = dict(zip(seeds, train.run(plan, arguments.study, arguments.variant, seeds)))
        else:
            from reprolab import evaluate

            results = {arguments.seed: evaluate.run(plan, arguments.study, arguments.variant, arguments.seed)}
        for seed, result in results.items():
            print(f"{command} {arguments.study}/{arguments.variant}/seed{seed}: "
                  + ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}" for key, value in result.items()
                              if key in ("status", "test_error_percent", "train_error_percent", "wall_seconds", "epochs_completed")))
    elif command == "proxies":
        _require(plan, "proxies", study=arguments.study)
        from reprolab import runtime

        runtime.configure(planning.TRAIN_THREADS, 0, plan.params.get("accelerator", "cpu"))
        from reprolab import proxies

        record = proxies.run(plan, arguments.study)
        print(f"proxies {arguments.study}: {len(record['variants'])} architectures x {len(record['seeds'])} init seeds in {record['seconds']:.1f}s")
    elif command == "pick":
        from reprolab import sweeps

        _require(plan, "pick", study=arguments.study, sweep=arguments.sweep)
        record = sweeps.pick(plan, arguments.study, arguments.sweep)
        print(f"pick {arguments.study}/{arguments.sweep}: {record['key']} = {record['picked']} (on validation: "
              + ", ".join(f"{point['value']}: {point['failed']}/{point['runs']} failed, mean "
                          + ("-" if point["validation_error_mean"] is None else f"{point['validation_error_mean']:.2f}%") for point in record["points"]) + ")")
    elif command == "report":
        from reprolab.reporting import study

        _require(plan, "report", study=arguments.study)
        study.run(plan, arguments.study)
        print(f"wrote {planning.path('report', study=arguments.study)}")
    elif command == "plot":
        from reprolab.reporting import plots

        job = _require(plan, "plot", study=arguments.study, plot=arguments.plot)
        plots.run_plot(plan, arguments.study, arguments.plot)
        print(f"wrote {job.outputs['plot']}")
    elif command == "index":
        from reprolab.reporting import index

        index.run_index(plan)
        print(f"wrote {planning.path('index')}")


def entry():
    """The `reprolab` command: main(), then an immediate exit. Every output is written atomically and
    closed by then, and TensorFlow's interpreter teardown alone costs ~1 s, paid by every job."""
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    entry()
