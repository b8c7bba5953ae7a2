# Figures (PNG for the report, PDF for papers) per (dataset, family).
FIGURES = ["learning_curve", "error_vs_size", "best_size"]


def figure_files(ext):
    return [f"{RESULTS}/figures/{d}.{f}.{fig}.{ext}" for d, f in STUDY.curves() for fig in FIGURES]


rule figures:
    input:
        tables=rules.aggregate.output,
        fits=rules.fit.output,
    output:
        png=[
            report(path, caption=f"../report/{path.rsplit('.', 2)[-2]}.rst", category="Figures")
            for path in figure_files("png")
        ],
        pdf=figure_files("pdf"),
    log:
        f"{RESULTS}/logs/figures.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "{PY} plot --tables {RESULTS}/tables --fits {input.fits} --out-dir {RESULTS}/figures > {log} 2>&1"
