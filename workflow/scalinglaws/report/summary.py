"""The first page of the report, one per curve: what a person reads before any figure.

It says the fitted laws in words with their 95% CIs, what k times more data buys (the
predicted error with its confidence and prediction intervals, computed by fit/predict.py from
the fit's stored bootstrap samples, as `scalinglaws predict` does), every warning as a plain
sentence, then the figures. Each page is one self-contained HTML file (figures embedded), so it
reads the same opened alone, inside `snakemake --report` and on the report's landing page.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from ..fit.curves import CurveFits, as_curve, as_curves, default_law_for
from ..fit.grid import EXTRAPOLATE
from ..fit.identify import exponent_words
from ..fit.laws import Role
from ..fit.mixture import Mixture, by_weight, shown
from ..fit.predict import PredictError, default_prediction, predict_rows
from ..fit.result import Estimate
from ..store import atomic_write_text
from .axes import DATA_FACTORS, INPUT_LABEL, metric_label, number

CURVE_LAW, SIZE_LAW = default_law_for(Role.CURVE), default_law_for(Role.SIZE)  # what the figures describe
OWN = "alone: "  # data_factor_rows' column of a combined law's own prediction: OWN + its name
FIGURES = (
    (
        "learning_curve",
        "The learning curve: data, the power law's fit, 95% band of the mean curve and 95% prediction "
        "interval of a new run out to the extrapolation limit, and the predictions of the table above at 2x, 4x "
        "and 10x (where the laws are combined: the combined prediction, and each law's own beside it)",
    ),
    (
        "law_{law}",
        "The law used for the predictions above (of combined laws, the one of largest weight), with its backtest",
    ),
    ("best_size", "The best model size per shard and its law"),
    ("error_vs_size", "Error against model size, one line per shard"),
)
STYLE = """.sl-summary{font-family:sans-serif;max-width:60em;line-height:1.4}
.sl-summary table{border-collapse:collapse;margin:.5em 0}
.sl-summary td,.sl-summary th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
.sl-summary img{max-width:100%;display:block;margin-top:1em}
.sl-summary figcaption{font-size:90%;color:#444}
.sl-summary code::before,.sl-summary code::after{content:none}"""  # the report's prose style adds backticks


def next_step(proposal: dict | None) -> str | None:
    """`scalinglaws plan --next`'s proposal for the curve (plan/overlay.py: proposal_for), as one
    HTML paragraph; None when the report was built without the study's config."""
    if proposal is None:
        return None
    if "error" in proposal:
        return f"No proposal: {html.escape(proposal['error'])}"
    cost = f" They cost {proposal['flops']:.3g} training FLOPs" if proposal.get("flops") is not None else ""
    hours = "".join(
        f", about {h['value']:.2g} {'GPU' if h['gpu'] else h['device'].upper()}-hours at the measured throughput"
        for h in proposal.get("hours", [])[:1]
    )
    shards = ", ".join(number(n) for n in proposal["shards"]) or "none"
    sizes = ", ".join(map(str, proposal["sizes"])) or "none"
    return (
        f"To predict the error at n = {number(proposal['target_n'])} better, train the new shards {shards} "
        f"with the new sizes {sizes}.{cost}{hours}{'.' if cost else ''} The 95% prediction interval there "
        f"would narrow from {_span(proposal['now']['pi'])} to about {_span(proposal['after']['pi'])}. Write it as a "
        f"config overlay with <code>{html.escape(proposal['plan'])}</code>, then run "
        f"<code>{html.escape(proposal['command'])}</code>."
    )


def _span(interval) -> str:
    return f"{interval[0]:.3g} to {interval[1]:.3g}"


def _ci(q: Estimate, digits: int = 3) -> str:
    ci = q.ci95
    return f" (95% CI {ci[0]:.{digits}g} to {ci[1]:.{digits}g})" if ci else " (no CI)"


def law_sentences(fit: CurveFits, metric: str) -> list[str]:
    """Each fitted law of the curve, in words, with its CIs."""
    fit = as_curve(fit)
    out = []
    power = fit.get(CURVE_LAW)
    if power:
        p = power.params
        left = power.regions.get("small_data_n") or []
        fitted = [n for n in power.x[:, 0].tolist() if n not in left]
        text = (
            f"The {metric} falls as a power of the training-set size n: eps(n) = {p['alpha'].value:.3g} "
            f"n^{p['beta'].value:.3f} + {p['gamma'].value:.3g}. The exponent beta is "
            f"{p['beta'].value:.3f}{_ci(p['beta'])}; the irreducible error gamma is "
            f"{p['gamma'].value:.3g}{_ci(p['gamma'], 2)}. It is fitted to {len(fitted)} shards from "
            f"{number(min(fitted))} to {number(max(fitted))} examples (R² of the log error "
            f"{power.goodness['r2_log']:.3f})."
        )
        if left:
            text += (
                f" The smallest shard(s), n = {', '.join(number(n) for n in left)}, are in the small-data region "
                "(near the best-guess error) and are left out of the fit."
            )
        out.append(text)
    size = fit.get(SIZE_LAW)
    if size and size.unresolved():  # the law's own checks reject it: no growth is claimed
        out.append(
            f"The best size does not change measurably over this range of n: the measured best sizes are "
            f"{number(size.y.min())} to {number(size.y.max())} parameters; the fitted growth is not resolved "
            f"({size.unresolved()})."
        )
    elif size:
        b = size.params["beta_p"]
        out.append(f"The best model size grows as n^{b.value:.2f}{_ci(b, 2)}: {exponent_words(b.value, b.ci95)}.")
    for result in fit.fitted():
        if result.name in (CURVE_LAW, SIZE_LAW):
            continue
        inputs = " and ".join(INPUT_LABEL.get(v, v) for v in result.inputs)
        free = [f"{k} = {v.value:.3g}{_ci(v)}" for k, v in result.params.items() if not v.fixed]
        out.append(f"The {result.name} law ({result.formula}) describes the {metric} over {inputs}: {'; '.join(free)}.")
    for entry in fit.not_fitted():
        if not entry.skipped:
            out.append(f"The {entry.name} law could not be fitted: {entry.reason}.")
    for combo in fit.info.get("combination", []):
        weights = ", ".join(f"{n} {w:.2f}" for n, w in shown(combo["weights"]))
        out.append(
            f"The predictions below combine the laws fitted to the {combo['among']} by how well each predicted "
            f"the larger shards from the smaller ones (stacking weights: {weights or 'none'}; {combo['reason']})."
        )
    return out


def data_factor_rows(fits, group: str, extrapolate: float = EXTRAPOLATE) -> pd.DataFrame:
    """What k x the largest shard buys, for k in DATA_FACTORS: the curve's default prediction (its
    laws combined by their stacking weights, else the one law) with its 95% CI and PI."""
    curves = as_curves(fits)
    result = default_prediction(curves[group], 1)
    if result is None:
        law = curves[group].default_law(1)
        result = curves[group].get(law) if law is not None else None
    if result is None:
        return pd.DataFrame()
    law = None if isinstance(result, Mixture) else result.name
    try:
        rows = predict_rows(Path("fits.json"), curves, np.array(DATA_FACTORS, float) * result.data_max, law, group)
    except PredictError:
        return pd.DataFrame()
    rows.insert(0, "factor", list(DATA_FACTORS))
    rows["beyond_limit"] = rows["factor"] > extrapolate
    if law is None:  # the laws combined: each law's own prediction beside theirs
        for name, _ in by_weight(curves[group].combination(1)["weights"]):
            own = predict_rows(Path("fits.json"), curves, rows["x"].to_numpy(), name, group)
            rows[f"{OWN}{name}"] = own["prediction"].to_numpy()
    return rows


def warning_sentences(fit: CurveFits) -> list[str]:
    """Every warning of the curve's fits as a sentence that names its law; one warning shared
    by several laws (the protocol-limited points) is said once."""
    fit = as_curve(fit)
    out = _law_sentences(fit, {r.name: r.all_warnings() for r in fit.fitted()})
    for combo in fit.info.get("combination", []):
        if combo.get("warning"):
            out.append(_sentence(f"The combined prediction: {combo['warning']}"))
    if fit.info.get("excluded_diverged"):
        out.append(
            f"Of {fit.info['runs']} runs, {fit.info['excluded_diverged']} diverged and are left out of every fit."
        )
    if fit.error:
        out.append(_sentence(f"This curve could not be fitted: {fit.error}"))
    return out


def note_sentences(fit: CurveFits) -> list[str]:
    """Every note of the curve's fits (what the data do not pin down, which the intervals
    carry) as a sentence that names its law."""
    fit = as_curve(fit)
    return _law_sentences(fit, {r.name: r.notes for r in fit.fitted()})


def _law_sentences(fit: CurveFits, said_by: dict[str, list[str]]) -> list[str]:
    """Each message as a sentence naming the law(s) that said it, once for all of them."""
    said: dict[str, list[str]] = {}
    for name, messages in said_by.items():
        for w in messages:
            said.setdefault(w, []).append(name)
    out = []
    for w, laws in said.items():
        owner = " and ".join(laws) + (" laws" if len(laws) > 1 else " law")
        head, _, rest = w.partition(" ")
        if head in fit.laws[laws[0]].params and rest.startswith(("poorly", "not", "at")):
            out.append(_sentence(f"In the {owner}, {head} is {rest}"))
        elif w.startswith("fitted points "):
            out.append(_sentence(f"The {owner} {'were' if len(laws) > 1 else 'was'} fitted to points {w[14:]}"))
        elif w.startswith("backtest: "):
            out.append(_sentence(f"The {owner}'s backtest: {w[10:]}"))
        else:
            out.append(_sentence(f"The {owner}: {w}"))
    return out


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def curve_page(
    fits: dict,
    group: str,
    metric: str,
    figures_dir: Path | str,
    extrapolate: float = EXTRAPOLATE,
    proposal: dict | None = None,
) -> str:
    """The curve's summary as one self-contained HTML page; `metric` names the fitted error
    ('test MSE')."""
    fits = as_curves(fits)
    fit = fits[group]
    dataset, family = group.split("/")
    parts = [f"<h2>{html.escape(dataset)} / {html.escape(family)}: the {html.escape(metric)} against the data</h2>"]
    parts += [f"<p>{html.escape(s)}</p>" for s in law_sentences(fit, metric)]
    rows = data_factor_rows(fits, group, extrapolate)
    if len(rows):
        combo = fit.combination(1)
        parts.append(_factor_table(rows, metric, extrapolate, combo["weights"] if combo else None))
    proposal = next_step(proposal)
    hook = "<!-- next step: the proposal of `scalinglaws plan --next` goes here (summary.next_step) -->"
    parts.append(f'<h3>Next step</h3>\n<p class="sl-next">{proposal}</p>' if proposal else hook)
    warnings = warning_sentences(fit)
    parts.append(
        "<h3>Warnings</h3>\n"
        + (
            '<ul class="sl-warnings">' + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>"
            if warnings
            else "<p>None.</p>"
        )
    )
    notes = note_sentences(fit)
    if notes:
        parts.append(
            "<h3>What the data do not pin down</h3>\n<p>The intervals above carry these; they change nothing "
            'about how to read them.</p>\n<ul class="sl-notes">'
            + "".join(f"<li>{html.escape(w)}</li>" for w in notes)
            + "</ul>"
        )
    parts.append("<h3>Figures</h3>")
    combo = fit.combination(1)
    law = by_weight(combo["weights"])[0][0] if combo else fit.default_law(1) or CURVE_LAW
    for stem, caption in FIGURES:
        png = Path(figures_dir) / f"{dataset}.{family}.{stem.format(law=law)}.png"
        if png.is_file():
            data = base64.b64encode(png.read_bytes()).decode()
            parts.append(
                f'<figure><img alt="{png.name}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)} ({png.name}).</figcaption></figure>"
            )
    title = html.escape(f"{dataset} / {family}: summary")
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<meta charset="utf-8">\n<title>{title}</title>\n<style>{STYLE}</style>\n'
        f'<div class="sl-summary" id="summary-{html.escape(dataset)}-{html.escape(family)}">\n{body}\n</div>\n'
    )


def _factor_table(rows: pd.DataFrame, metric: str, extrapolate: float, weights: dict[str, float] | None) -> str:
    law = rows["law"].iloc[0]
    own = [c for c in rows.columns if c.startswith(OWN)]
    by = (
        f"Predicted by the {html.escape(law)} law from its bootstrap samples"
        if not own
        else "Predicted by the laws combined by their stacking weights (the mixture of their bootstrap samples), "
        "each law's own prediction beside it"
    )
    laws = "".join(
        f"<th>{html.escape(c.removeprefix(OWN))} alone (weight {weights[c.removeprefix(OWN)]:.2f})</th>" for c in own
    )
    head = (
        f"<h3>What more data buys</h3>\n<p>{by}: the 95% CI of the mean curve, and the 95% prediction interval "
        f"of one new run (a new training set and seed).</p>\n<table><tr><th>data</th><th>n</th>"
        f"<th>predicted {html.escape(metric)}</th><th>95% CI</th><th>95% prediction interval</th>{laws}</tr>"
    )
    cells = []
    for _, r in rows.iterrows():
        note = "*" if r.beyond_limit else ""
        ci = f"{r.ci_low:.3g} to {r.ci_high:.3g}" if pd.notna(r.ci_low) else "n/a"
        pi = f"{r.pi_low:.3g} to {r.pi_high:.3g}" if pd.notna(r.pi_low) else "n/a"
        alone = "".join(f"<td>{r[c]:.3g}</td>" for c in own)
        cells.append(
            f"<tr><td>{r.factor}x{note}</td><td>{number(r.x)}</td><td>{r.prediction:.3g}</td>"
            f"<td>{ci}</td><td>{pi}</td>{alone}</tr>"
        )
    foot = ""
    if rows["beyond_limit"].any():
        foot = (
            f"<p>* beyond the figures' extrapolation limit ({number(extrapolate)}x the largest shard): "
            "an extrapolation the data can hardly check.</p>"
        )
    return head + "".join(cells) + "</table>\n" + foot


def write_summaries(
    fits: dict, curve: pd.DataFrame, figures_dir, out_dir, extrapolate: float = EXTRAPOLATE, propose=None
) -> list[Path]:
    """<dataset>.<family>.html in `out_dir` for every curve of `fits` (atomically); `curve` is
    learning_curve.csv, which names each curve's metric; `propose(group)`, when given, is the
    next-step proposal of `scalinglaws plan --next` for a curve."""
    written = []
    fits = as_curves(fits)
    for group, fit in fits.items():
        dataset, family = group.split("/")
        c = curve[(curve["dataset"] == dataset) & (curve["family"] == family)]
        metric = metric_label(c["metric"].iloc[0] if len(c) else "metric", fit.target)
        path = Path(out_dir) / f"{dataset}.{family}.html"
        proposal = propose(group) if propose is not None else None
        atomic_write_text(path, curve_page(fits, group, metric, figures_dir, extrapolate, proposal))
        written.append(path)
    return written
