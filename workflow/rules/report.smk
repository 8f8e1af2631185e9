rule pick:
    """Pick a sweep's value from its points' validation errors (never the test set)."""
    input:
        job_inputs("pick"),
    output:
        PATHS["pick"],
    params:
        command=job_command("pick"),
    log:
        log_path("pick", "{study}-{sweep}"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"


rule report:
    """Write one study's report from all its runs."""
    input:
        job_inputs("report"),
    output:
        report(PATHS["report"], caption="../report/study.rst", category="{study}"),
        report(PATHS["report_html"], caption="../report/study.rst", category="{study}"),
        PATHS["summary"],
        PATHS["study_metrics"],
        PATHS["verdicts"],
        PATHS["curves"],
        report(PATHS["curves_figure"], caption="../report/learning_curves.rst", category="{study}"),
        report(PATHS["errors_figure"], caption="../report/test_error.rst", category="{study}"),
        report(PATHS["confusion_figure"], caption="../report/confusion.rst", category="{study}"),
        report(PATHS["misclassified_figure"], caption="../report/misclassified.rst", category="{study}"),
    params:
        command=job_command("report"),
    log:
        log_path("report", "{study}"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"


rule plot:
    """Draw one of a study card's extra figures (error against a setting, signal propagation)."""
    input:
        job_inputs("plot"),
    output:
        report(PATHS["plot"], caption="../report/plot.rst", category="{study}"),
    params:
        command=job_command("plot"),
    log:
        log_path("plot", "{study}-{plot}"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"


rule index:
    """Write reports/index.md and index.html across studies."""
    input:
        job_inputs("index"),
    output:
        report(PATHS["index"], caption="../report/index.rst", category="index"),
        report(PATHS["index_html"], caption="../report/index.rst", category="index"),
    params:
        command=job_command("index"),
    log:
        log_path("index", "index"),
    threads: 1
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"
