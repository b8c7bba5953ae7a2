"""How many learning-curve points the adaptive protocol repaired: limited before, and after.

    python benchmarks/protocol_limits.py results/<study>/tables/runs.csv [...]

"After" is the study's own learning curve (limited_by of every point). "Before" is the same
curve rebuilt from what the plain protocol would have had: only the learning-rate grid
(lr_round 0), and a member whose budget was extended counts as limited by its first budget
(it was still improving there). Its numbers are the extended member's, so "before" counts
limits, not errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from scalinglaws.aggregate.curves import learning_curve  # noqa: E402
from scalinglaws.aggregate.diagnostics import with_lr_edges  # noqa: E402


def before(runs: pd.DataFrame) -> pd.DataFrame:
    grid = runs[runs["lr_round"].fillna(0) == 0].copy()
    extended = grid["budget"] > grid["step_budget"]
    grid.loc[extended, "limited_by"] = "step_budget"
    grid.loc[~extended, "limited_by"] = grid.loc[~extended, "limited_by"].str.replace(r"\+?lr_\w+_edge", "", regex=True)
    grid["limited_by"] = with_lr_edges(grid)
    return learning_curve(grid)


def main(paths: list[str]) -> None:
    for path in paths:
        runs = pd.read_csv(path)
        for label, curve in (("before", before(runs)), ("after", learning_curve(runs))):
            for (dataset, family), c in curve.groupby(["dataset", "family"]):
                limited = c[c["limited_by"] != "none"]
                print(
                    f"{path}: {dataset}/{family} {label}: {len(limited)} of {len(c)} points limited "
                    f"({', '.join(f'n={r.n}: {r.limited_by}' for r in limited.itertuples()) or '-'})"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
