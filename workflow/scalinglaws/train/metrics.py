"""Losses and the metrics a learning curve reports, per ensemble member."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def member_loss(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Per-member mean loss: out (E, B, K), y (E, B, 1) or (E, B) -> (E,).

    Language models ("lm") predict every position: out (E, B, T, V), y (E, B, T) of token ids.
    """
    if task == "classification":
        return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
    if task == "lm":
        return F.cross_entropy(out.flatten(1, 2).transpose(1, 2), y.flatten(1).long(), reduction="none").mean(1)
    return (out - y).pow(2).mean((1, 2))


# The metric a learning curve reports, from a split's mean loss and error rate.
METRICS = {
    "mse": lambda loss, err: loss,
    "rmse": lambda loss, err: loss.sqrt(),
    "error": lambda loss, err: err,  # 1 - accuracy
    "bpb": lambda loss, err: loss / math.log(2),  # bits per byte: nats per byte token -> bits
}
DEFAULT_METRIC = {"regression": "mse", "classification": "error", "lm": "bpb"}


@torch.no_grad()
def evaluate(
    model, x: torch.Tensor, y: torch.Tensor, task: str, batch: int, metric: str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, metric) per member over a whole split; the metric is named in METRICS."""
    batch, training = model.eval_rows(batch), model.training
    model.eval()  # dropout and the like off (a user's module may have them; user.py)
    loss_sum = torch.zeros(model.members, device=x.device)
    wrong = torch.zeros(model.members, device=x.device)
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch], y[i : i + batch]
        out = model(xb.unsqueeze(0).expand(model.members, *xb.shape))
        yy = yb.unsqueeze(0).expand(model.members, *yb.shape)
        loss_sum += member_loss(out.float(), yy, task) * len(xb)
        if task == "classification":
            wrong += (out.argmax(-1) != yy).float().sum(1)
    model.train(training)
    loss = loss_sum / len(x)
    return loss, METRICS[metric or DEFAULT_METRIC[task]](loss, wrong / len(x))
