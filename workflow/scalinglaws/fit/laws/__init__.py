"""Scaling laws, one module each; every law is a small estimator with fit/predict (see base.py).

power           Hestness et al. 2017: eps(n) = alpha n^beta + gamma, with its three regions
power-pure      the same without its floor (gamma = 0): two parameters, for curves of 3-4 points
size            best model size vs data: s(n) = k n^beta_p
envelope        Rosenfeld et al. 2020's envelope on one input: a power law bent toward eps0 at small n
m4              Alabdulmohsin et al. 2022: (eps - eps_inf) / (eps0 - eps)^alpha = beta n^c, solved for eps
bnsl, bnsl2     Caballero et al. 2022: smoothly broken power law, one or two breaks
joint           Rosenfeld et al. 2020: eps(m, n) with the envelope
joint-additive  the same without the envelope: a n^-alpha + b m^-beta + c_inf
chinchilla      Hoffmann et al. 2022 / Besiroglu et al. 2024: L(N, D) = E + A/N^alpha + B/D^beta
pruning         Rosenfeld et al. 2021: error vs density of an iteratively magnitude-pruned network
pruning-invariant  the same across widths and depths through m* = l^phi w^psi d

The registry, LAWS, is the one list of laws. Each law declares its role as class attributes
(base.py: `role`, `priors`, `auto`, `default`, `plannable`, `size_law`); the rest of the package
asks the functions below instead of naming laws. A new law is its module and one line here,
plus its name in the config schema's law lists (copies, which tests/test_law_contract.py holds
equal to this registry; it also runs every law through the contract). The order is the order
`--law auto` fits and lists them in.
"""

from ...errors import UserError
from .base import FitError, Law, Prior, Role
from .bnsl import BrokenPowerLaw, TwoBreakPowerLaw
from .chinchilla import ChinchillaLaw
from .envelope import EnvelopeLaw
from .joint import AdditiveJointLaw, JointLaw
from .m4 import M4Law
from .power import PowerLaw, PurePowerLaw
from .pruning import DensityLaw, InvariantPruningLaw
from .size import SizeLaw

LAWS: dict[str, type[Law]] = {
    cls.name: cls
    for cls in (
        PowerLaw,
        PurePowerLaw,
        SizeLaw,
        EnvelopeLaw,
        M4Law,
        BrokenPowerLaw,
        TwoBreakPowerLaw,
        JointLaw,
        AdditiveJointLaw,
        ChinchillaLaw,
        DensityLaw,
        InvariantPruningLaw,
    )
}
# what a study fits its laws to: the learning curve, the best sizes, the error of every (size, shard)
STUDY_ROLES = (Role.CURVE, Role.SIZE, Role.JOINT)


def make_law(name: str, **options) -> Law:
    """A law by name, e.g. make_law("joint", eps0=0.9)."""
    if name not in LAWS:
        raise UserError(f"unknown law '{name}' (choose from: {', '.join(LAWS)})")
    return LAWS[name](**options)


def laws_for(*roles: Role) -> tuple[str, ...]:
    """The laws fitted to any of these roles, in the registry's order."""
    return tuple(name for name, cls in LAWS.items() if cls.role in roles)


def study_laws() -> tuple[str, ...]:
    """Every law a study can fit (config `fit.laws`)."""
    return laws_for(*STUDY_ROLES)


def default_laws() -> tuple[str, ...]:
    """The laws a study fits unless its config names them."""
    return tuple(name for name, cls in LAWS.items() if cls.default)


def auto_laws() -> dict[int, tuple[str, ...]]:
    """`--law auto`: the laws it considers, by their number of inputs (x columns)."""
    out: dict[int, tuple[str, ...]] = {}
    for name, cls in LAWS.items():
        if cls.auto:
            out[len(cls.x_names)] = (*out.get(len(cls.x_names), ()), name)
    return out


def plannable(role: Role) -> tuple[str, ...]:
    """The laws of this role a plan can read (their floor, error and best size at n)."""
    return tuple(name for name in laws_for(role) if LAWS[name].plannable)


def options_for(eps0: float | None = None, starts: int | None = None) -> dict[str, dict]:
    """Every law's constructor options from what the user knows: `eps0`, the random-guess error
    (a law's eps0, and the best guess that anchors a small-data region), and `starts` (grid
    starts for a law that screens them). Laws that take neither are left out."""
    known = {Prior.EPS0: eps0, Prior.BEST_GUESS: eps0, Prior.STARTS: starts}
    return {name: options for name, cls in LAWS.items() if (options := cls.prior_options(known))}


__all__ = [
    "FitError",
    "Law",
    "LAWS",
    "Prior",
    "Role",
    "STUDY_ROLES",
    "auto_laws",
    "default_laws",
    "laws_for",
    "make_law",
    "options_for",
    "plannable",
    "study_laws",
    "PowerLaw",
    "PurePowerLaw",
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
