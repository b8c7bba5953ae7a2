"""Stage 2, training: one ensemble job per (dataset, family, size, shard).

Takes a stored shard and the eval splits (datasets/) and a job spec (study.py); gives one
metrics record per job in the store, one row per (seed, learning rate) member. trainer.py is the
loop, ensemble.py and fast.py its CPU and GPU step loops, imp.py the pruning stage's trainer.
Nothing here is imported when the DAG is built (torch is slow to import).
"""
