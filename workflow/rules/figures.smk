# Figures (PNG for the report, PDF for papers) per (dataset, family), one per fitted law, and each
# curve's summary page (the report's first page).
FIGURES = ["learning_curve", "error_vs_size", "best_size"]


LAW_FIGURES = [f"law_{law}" for law in STUDY.config["fit"]["laws"]]


rule figures:
    input:
        tables=rules.aggregate.output,
        fits=rules.fit.output.fits,
    output:
        png=[
            report(path, caption=f"../report/{path.rsplit('.', 2)[-2]}.rst", category="Figures")
            for path in figure_files("png", FIGURES)
        ],
        laws=[report(path, caption="../report/law.rst", category="Laws") for path in figure_files("png", LAW_FIGURES)],
        pdf=figure_files("pdf", FIGURES + LAW_FIGURES),
        # each curve's first page: its laws in words, what more data buys, warnings, figures
        summary=[
            report(f"{RESULTS}/summary/{d}.{f}.html", caption="../report/summary.rst", category="Summary")
            for d, f in STUDY.curves()
        ],
    params:
        tables=lambda wc, input: os.path.dirname(input.tables[0]),
        out_dir=lambda wc, output: os.path.dirname(output.pdf[0]),
        summary_dir=lambda wc, output: os.path.dirname(output.summary[0]),
        extrapolate=STUDY.config["fit"]["extrapolate"],
        # the study's config files: each curve's page proposes the next shards and sizes (plan/)
        configs=" ".join(f"--configfile {path}" for path in as_given(workflow.configfiles)),
        code=stage_code("report/command.py:cmd_plot"),  # the command it runs, with the code it uses (identity.py)
    log:
        f"{RESULTS}/logs/figures.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "scalinglaws plot --tables {params.tables} --fits {input.fits} --out-dir {params.out_dir} --extrapolate {params.extrapolate}"
        " --summary-dir {params.summary_dir} {params.configs} > {log} 2>&1"
