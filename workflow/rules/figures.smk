# Figures (PNG for the report, PDF for papers) per (dataset, family), and one per fitted law.
FIGURES = ["learning_curve", "error_vs_size", "best_size"]


def figure_files(ext, names):
    return [f"{RESULTS}/figures/{d}.{f}.{fig}.{ext}" for d, f in STUDY.curves() for fig in names]


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
    log:
        f"{RESULTS}/logs/figures.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "{PY} plot --tables {RESULTS}/tables --fits {input.fits} --out-dir {RESULTS}/figures > {log} 2>&1"
