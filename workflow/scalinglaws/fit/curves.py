"""The fits of one curve: a study's dataset/family or a table's group, as fits.json holds them.

`CurveFits` holds a curve's laws in the order they were asked for (result.py's FitResult, or
NotFitted with why), its law selection and combination, and what describes the curve; `read_fits`
gives them for a whole fits.json and `load_fits` finds and reads one. The CLI's `predict` and
`plan`, the figures and the summary pages read fits only through these.
"""

from __future__ import annotations

import json
from pathlib import Path

from .laws import LAWS, Role, default_laws
from .result import FitResult, NotFitted, PredictError


class CurveFits:
    """One curve's fits: its laws in the order they were asked for (FitResult or NotFitted),
    the law selection, and what describes the curve (a study's dataset and family, runs and
    shards; a table's columns and group); `error` when the curve could not be fitted at all."""

    def __init__(self, key: str, d: dict):
        self.key = key
        self._order = list(d)
        self.law_names: list[str] = list(d.get("laws", []))
        self.laws: dict[str, FitResult | NotFitted] = {
            n: FitResult.from_json(d[n]) for n in self.law_names if isinstance(d.get(n), dict)
        }
        self.selection: list[dict] = list(d.get("selection", []))
        self.info = {k: v for k, v in d.items() if k not in self.laws and k != "selection"}

    @property
    def error(self) -> str | None:
        return self.info.get("error")

    @property
    def has_laws(self) -> bool:
        return "laws" in self.info

    @property
    def target(self) -> str:
        """'test' or 'val': which metric a study's curve was fitted to."""
        return self.info.get("target", "test_metric").split("_")[0]

    def get(self, name: str) -> FitResult | None:
        """The fitted law `name`, or None if it was not asked for or not fitted."""
        entry = self.laws.get(name)
        return entry if entry is not None and entry.fitted else None

    def fitted(self) -> list[FitResult]:
        return [e for e in self.laws.values() if e.fitted]

    def not_fitted(self) -> list[NotFitted]:
        return [e for e in self.laws.values() if not e.fitted]

    def selected(self) -> set[str]:
        return {s["law"] for s in self.selection}

    def picked(self) -> set[str]:
        """The laws the selection picked: per number of inputs, the law the backtest selected, or
        the one law fitted there when there was nothing to choose among (the law predictions use)."""
        out = set()
        for inputs in sorted({len(LAWS[n].x_names) for n in self.law_names if n in LAWS}):
            judged = [c for c in self.selection if any(len(LAWS[n].x_names) == inputs for n in _judged(c))]
            law = judged[0].get("law") if judged else self.default_law(inputs)
            out |= {law} if law is not None else set()
        return out

    def default_law(self, inputs: int) -> str | None:
        """The law the backtest selected among those with `inputs` inputs, else the first such
        law that a prediction can be read from (a learning curve or a joint law) and that was
        not reported unfitted; None for a curve that could not be fitted at all."""
        for choice in self.selection:
            if choice.get("law") is not None and len(LAWS[choice["law"]].x_names) == inputs:
                return choice["law"]
        if self.error:
            return None
        candidates = [n for n in self.law_names if n in LAWS and len(LAWS[n].x_names) == inputs]
        candidates = [n for n in candidates if LAWS[n].role is not Role.SIZE]  # the best size is no error
        candidates = [n for n in candidates if n not in self.laws or self.laws[n].fitted]
        return candidates[0] if candidates else None

    def combination(self, inputs: int) -> dict | None:
        """The stacking weights of the laws with `inputs` inputs (combine.py), when every law they
        weigh was fitted and can predict."""
        for combo in self.info.get("combination", []):
            names = [n for n, w in combo["weights"].items() if w > 0]
            usable = [self.get(n) for n in names]
            if names and all(r is not None and r.can_predict() and len(r.inputs) == inputs for r in usable):
                return combo
        return None

    def to_json(self) -> dict:
        out = {}
        for k in self._order:
            if k in self.laws:
                out[k] = self.laws[k].to_json()
            elif k == "selection":
                out[k] = self.selection
            else:
                out[k] = self.info[k]
        return out


def _judged(choice: dict) -> list[str]:
    """The laws a selection entry judged: its pick, its candidates and those it left out."""
    names = [choice.get("law"), *choice.get("candidates", []), *choice.get("not_candidates", {})]
    return [n for n in names if n in LAWS]


def default_law_for(role: Role) -> str | None:
    """The law a study fits by default for this role (the learning curve: power; the best size: size)."""
    return next((name for name in default_laws() if LAWS[name].role is role), None)


def read_fits(fits: dict) -> dict[str, CurveFits]:
    """Every curve of a fits.json's content, by key."""
    return {key: CurveFits(key, d) for key, d in fits.items() if isinstance(d, dict)}


def as_curve(fit, key: str = "") -> CurveFits:
    """One curve from its fits.json entry, or as given when it is a curve already."""
    return fit if isinstance(fit, CurveFits) else CurveFits(key, fit)


def as_curves(fits) -> dict[str, CurveFits]:
    """Curves from a fits.json's content, or as given when they are curves already."""
    if fits and isinstance(next(iter(fits.values())), CurveFits):
        return fits
    return read_fits(fits)


def load_fits(path: Path | str) -> tuple[Path, dict]:
    """fits.json from a file, an output folder, or a study's results folder (fits/fits.json)."""
    path = Path(path)
    candidates = [path] if path.is_file() else [path / "fits.json", path / "fits" / "fits.json"]
    for c in candidates:
        if c.is_file():
            try:
                return c, json.loads(c.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise PredictError(f"{c}: not a fits.json ({exc})") from None
    raise PredictError(f"{path}: no fits.json there (looked for {', '.join(str(c) for c in candidates)})")
