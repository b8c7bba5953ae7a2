"""Stage 4, fitting: scaling laws with uncertainty, backtests and law selection.

Takes runs.csv (a study) or any CSV of measurements (external.py); gives fits.json and the
fitted-law table. laws/ is the catalogue of laws (one module each), entry.py reports one fitted
law, uncertainty.py draws the bootstrap (seeds and shard-level noise), intervals.py gives the CI
of the mean curve and the prediction interval of a new run at any x (predict.py serves them to
`scalinglaws predict`), regions.py decides the small-data region from the best-guess error
(best_guess.py), identify.py says what the data do not resolve, backtest.py and selection.py
score and rank the laws, combine.py weighs them by stacking and mixture.py predicts with their
mixture (the default prediction), study.py and pruning.py fit a study's curves; progress.py is
the status line a long `scalinglaws fit` shows on a terminal.
"""

# "what k x the data buys": the multiples of the largest measured x at which fits.json, plan's
# default table and the summary page predict (here, not in mixture.py: plan's option parser reads
# it, and the command must start without the scientific stack)
FACTORS = (2, 4, 10, 100)
