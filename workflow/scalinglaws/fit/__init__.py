"""Stage 4, fitting: scaling laws with uncertainty, backtests and law selection.

Takes runs.csv (a study) or any CSV of measurements (external.py); gives fits.json and the
fitted-law table. laws/ is the catalogue of laws (one module each), entry.py reports one fitted
law, uncertainty.py draws the bootstrap, backtest.py and selection.py score and rank the laws,
study.py and pruning.py fit a study's curves.
"""
