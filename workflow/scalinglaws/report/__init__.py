"""Stage 5, figures and report: PNG/PDF figures and tables drawn from the tables and fits.json
alone (so they can be redrawn without refitting); `snakemake --report` bundles them with the
captions of workflow/report/."""
