"""Scaling laws, one module each; every law is a small estimator with fit/predict (see base.py).

power           Hestness et al. 2017: eps(n) = alpha n^beta + gamma, with its three regions
size            best model size vs data: s(n) = k n^beta_p
bnsl, bnsl2     Caballero et al. 2022: smoothly broken power law, one or two breaks
envelope        Rosenfeld et al. 2020's envelope on one input: a power law bent toward eps0 at small n
m4              Alabdulmohsin et al. 2022: (eps - eps_inf) / (eps0 - eps)^alpha = beta n^c, solved for eps
joint           Rosenfeld et al. 2020: eps(m, n) with the envelope
joint-additive  the same without the envelope: a n^-alpha + b m^-beta + c_inf
pruning         Rosenfeld et al. 2021: error vs density of an iteratively magnitude-pruned network
pruning-invariant  the same across widths and depths through m* = l^phi w^psi d
chinchilla      Hoffmann et al. 2022 / Besiroglu et al. 2024: L(N, D) = E + A/N^alpha + B/D^beta
"""

from .base import FitError, Law
from .bnsl import BrokenPowerLaw, TwoBreakPowerLaw
from .chinchilla import ChinchillaLaw
from .envelope import EnvelopeLaw
from .joint import AdditiveJointLaw, JointLaw
from .m4 import M4Law
from .power import PowerLaw
from .pruning import DensityLaw, InvariantPruningLaw
from .size import SizeLaw

LAWS: dict[str, type[Law]] = {
    cls.name: cls
    for cls in (
        PowerLaw,
        SizeLaw,
        BrokenPowerLaw,
        TwoBreakPowerLaw,
        EnvelopeLaw,
        M4Law,
        JointLaw,
        AdditiveJointLaw,
        ChinchillaLaw,
        DensityLaw,
        InvariantPruningLaw,
    )
}


def make_law(name: str, **options) -> Law:
    """A law by name, e.g. make_law("joint", eps0=0.9)."""
    if name not in LAWS:
        raise ValueError(f"unknown law '{name}' (choose from: {', '.join(LAWS)})")
    return LAWS[name](**options)


__all__ = [
    "FitError",
    "Law",
    "LAWS",
    "make_law",
    "PowerLaw",
    "SizeLaw",
    "BrokenPowerLaw",
    "TwoBreakPowerLaw",
    "EnvelopeLaw",
    "M4Law",
    "JointLaw",
    "AdditiveJointLaw",
    "ChinchillaLaw",
    "DensityLaw",
    "InvariantPruningLaw",
]
