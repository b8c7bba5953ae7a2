"""Iterative magnitude pruning (IMP) with weight rewinding, for stacked-weight ensembles.

Every member of an ensemble (one seed x learning rate) is pruned on its own: after training,
each layer drops the `fraction` of its remaining weights with the smallest magnitude, the
surviving weights are rewound to their values at step `rewind_step` of the first (dense)
training, and the network is trained again; `iterations` rounds give densities
(1 - fraction)^k, k = 0..iterations. Layer-wise pruning as Frankle & Carbin do for fully
connected networks; biases are not pruned; every layer keeps at least one weight.

Masking lives at the model level, as a parametrisation of each StackedLinear weight
(weight = original * mask), so the trainer and its optimiser need no change: the gradient of a
pruned weight is zero, so Adam never moves it, and magnitudes are read from the masked weight.
Each retraining starts a fresh optimiser and the full step budget (with early stopping), from
the rewound weights; the paper's rewinding also restores the training state at that step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..models.base import StackedLinear
from .spec import EnsembleJob, TrainOptions
from .trainer import train_ensemble


class Mask(nn.Module):
    """weight -> weight * mask; the mask is a buffer (E, fan_in, fan_out) of 0/1."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


def prunable(model: nn.Module) -> list[StackedLinear]:
    return [m for m in model.modules() if isinstance(m, StackedLinear)]


def add_masks(model: nn.Module, masks: list[torch.Tensor] | None = None) -> None:
    """Mask every StackedLinear weight (all ones when `masks` is None)."""
    for i, layer in enumerate(prunable(model)):
        mask = torch.ones_like(layer.weight) if masks is None else masks[i].to(layer.weight.device)
        parametrize.register_parametrization(layer, "weight", Mask(mask))


def masks_of(model: nn.Module) -> list[torch.Tensor]:
    return [layer.parametrizations.weight[0].mask for layer in prunable(model)]


def density(masks: list[torch.Tensor]) -> float:
    """Fraction of the weights kept (per member; every member keeps as many)."""
    return float(sum(m[0].sum() for m in masks) / sum(m[0].numel() for m in masks))


@torch.no_grad()
def prune(model: nn.Module, fraction: float) -> list[torch.Tensor]:
    """New masks: in every layer and member, the `fraction` of the remaining weights with the
    smallest |weight| set to 0 (ties broken by position; at least one weight is kept)."""
    out = []
    for layer, mask in zip(prunable(model), masks_of(model)):
        E = mask.shape[0]
        flat_mask = mask.reshape(E, -1)
        remaining = int(flat_mask[0].sum())  # equal for every member
        k = min(int(round(fraction * remaining)), remaining - 1)
        scores = torch.where(flat_mask.bool(), layer.weight.abs().reshape(E, -1), torch.inf)
        new = flat_mask.clone()
        if k > 0:
            drop = torch.argsort(scores, dim=1, stable=True)[:, :k]
            new.scatter_(1, drop, 0.0)
        out.append(new.reshape(mask.shape))
    return out


def iterative_magnitude_pruning(job: EnsembleJob, data, settings: dict, device: str = "auto") -> list[dict]:
    """Train `job` on `data` (train, val, test), prune, rewind, retrain, `iterations` times;
    one metrics row per member per round, with its `iteration` and `density`. `settings` holds
    `fraction`, `rewind_step` and `iterations` (the config's `pruning` keys). The rewind point is the last evaluation at or before
    `rewind_step` of the dense training (a multiple of eval_every is hit exactly)."""
    fraction, rewind_step = settings["fraction"], settings["rewind_step"]
    masks, rewind, rows = None, None, []
    for it in range(settings["iterations"] + 1):
        held: dict = {}

        def setup(model):
            add_masks(model, masks)
            if rewind is not None:
                with torch.no_grad():
                    for p, saved in zip(model.parameters(), rewind):
                        p.copy_(saved)
            held["model"] = model

        def on_eval(step, model):
            if it == 0 and step <= rewind_step:
                held["rewind"] = [p.detach().clone() for p in model.parameters()]

        runs = train_ensemble(job, data, device, TrainOptions(setup=setup, on_eval=on_eval))
        model = held["model"]  # holds each member's best-validation weights once training returns
        if it == 0:
            rewind = held["rewind"]
        d = density(masks_of(model))
        rows += [{**run, "iteration": it, "density": d} for run in runs]
        masks = [m.detach().cpu() for m in prune(model, fraction)]
    return rows
