rule report:
    """Write one study's report from all its runs."""
    input:
        job_inputs("report"),
    output:
        report(PATHS["report"], caption="../report/study.rst", category="{study}"),
        PATHS["summary"],
        PATHS["study_metrics"],
        PATHS["curves"],
        report(PATHS["curves_figure"], caption="../report/learning_curves.rst", category="{study}"),
    params:
        command=job_command("report"),
    log:
        log_path("report", "{study}"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{params.command} > {log} 2>&1"


rule index:
    """Write reports/index.md across studies."""
    input:
        job_inputs("index"),
    output:
        report(PATHS["index"], caption="../report/index.rst", category="index"),
    params:
        command=job_command("index"),
    log:
        log_path("index", "index"),
    threads: 1
    shell:
        "{params.command} > {log} 2>&1"
