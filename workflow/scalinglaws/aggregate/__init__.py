"""Stage 3, aggregation: from the jobs' records to the study's tables.

Takes every training record of a study; gives runs.csv (one row per run), learning_curve.csv
(per shard, the best size and learning rate on validation, Hestness et al.) and sizes.csv
(error vs model size). runs.py reads the records, selection.py picks the winners, curves.py
writes the curve tables, pruning.py the pruning stage's tables.
"""
