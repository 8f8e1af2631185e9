if not PLAN.params.get("seeds_at_once"):

    rule train:
        """Train one variant x seed with Keras."""
        input:
            job_inputs("train"),
        output:
            PATHS["model"],
            PATHS["history"],
            PATHS["train_info"],
        params:
            command=job_command("train"),
            settings=job_settings("train"),
        log:
            log_path("train", "{study}-{variant}-{seed}"),
        threads: planning.TRAIN_THREADS
        resources:
            mem_mb=3000,
            runtime=240,
            gpu=job_gpus("train"),
        conda:
            "../envs/reprolab.yaml"
        shell:
            "{params.command} > {log} 2>&1"

else:
    # seeds_at_once: one job per variant writes all of the study's seeds, so each study has its
    # own rule (train_<study>) naming its seeds' paths; only {variant} is left a wildcard.
    for STUDY, SEEDS in PLAN.study_seeds().items():

        rule:
            name:
                f"train_{STUDY}"
            input:
                job_inputs("train", study=STUDY),
            output:
                planning.seed_group_outputs(STUDY, SEEDS),
            params:
                command=job_command("train", study=STUDY),
                settings=job_settings("train", study=STUDY),
            log:
                log_path("train", f"{STUDY}-{{variant}}"),
            threads: planning.TRAIN_THREADS
            resources:
                mem_mb=3000,
                runtime=240 * len(SEEDS),
                gpu=job_gpus("train", study=STUDY),
            conda:
                "../envs/reprolab.yaml"
            shell:
                "{params.command} > {log} 2>&1"


rule evaluate:
    """Score one trained model on the prepared train and test sets."""
    input:
        job_inputs("evaluate"),
    output:
        PATHS["metrics"],
        PATHS["predictions"],
    params:
        command=job_command("evaluate"),
        settings=job_settings("evaluate"),
    log:
        log_path("evaluate", "{study}-{variant}-{seed}"),
    threads: planning.TRAIN_THREADS
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=job_gpus("evaluate"),
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"


rule proxies:
    """Score the zero-cost proxies of every architecture of a study at initialisation, at each proxy init seed."""
    input:
        job_inputs("proxies"),
    output:
        PATHS["proxies"],
    params:
        command=job_command("proxies"),
        settings=job_settings("proxies"),
    log:
        log_path("proxies", "{study}"),
    threads: planning.TRAIN_THREADS
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"
