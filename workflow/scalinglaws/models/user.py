"""A user's own model in plain PyTorch, trained as a batched ensemble like the built-in families.

`models.<name>.type: "my_model.py:build"` (or "package.module:build") names a function
`build(size, input_shape, num_outputs, **options) -> torch.nn.Module`, the options being the config
entry's other keys. The module maps a float batch (B, *input_shape) to (B, num_outputs), or, for a
language model's token windows (B, T) of int64 ids, to (B, T, num_outputs) logits.

The ensemble builds one module per member, each under its member's seed, and stacks their
parameters and buffers (torch.func.stack_module_state): one tensor per parameter with the members
along its first axis, as the built-in families hold them, so both step loops (ensemble.py's
reference loop; fast.py's flat buffer, fused Adam and CUDA graphs) train it unchanged. The forward
pass runs the members one after another, each through functional_call on its own slices (views,
so gradients reach the stacked tensors). Measured on an H100 (benchmarks/RESULTS.md), this runs
any module and, inside the fast path's CUDA graph, costs no launch overhead; vmap over the
members failed on CUDA for scaled_dot_product_attention's backward and was slower where it ran.
Parameters are counted from the module; FLOPs come from its `flops_per_example()` if it has one,
else 6 x parameters per example, times the window's length for token windows (6 per parameter
per token, as Kaplan et al. count).

Buffers are stacked too, one per member, and a module that updates them (BatchNorm's running
statistics) updates its member's own; early stopping and checkpoints keep them with the weights.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, stack_module_state

from .base import Ensemble, member_generator

LOGIT_BUDGET = 2**24  # outputs per evaluation chunk (all members together), as transformer.py


def member_init_seed(seed: int) -> int:
    """The torch seed under which member `seed`'s module is built (its init stream, base.py)."""
    return int(member_generator(seed, 0).initial_seed())


def build_member(build, seed: int, size: int, input_shape: tuple, num_outputs: int, options: dict):
    """One member's module, built under its own seed without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(member_init_seed(seed))
        return build(int(size), tuple(input_shape), int(num_outputs), **options)


def meta_copy(build, size: int, input_shape: tuple, num_outputs: int, options: dict):
    """The module built on the meta device (no memory), or None where its code cannot run there.

    Built there, not moved there: Module.to("meta") unties tied weights (a GPT's output layer
    and token embedding), and functional_call could then not give the output layer its member's
    embedding."""
    try:
        with torch.device("meta"):
            return build_member(build, 0, size, input_shape, num_outputs, options)
    except Exception:  # noqa: BLE001 - it reads values, say: a real copy then (its values unused)
        return None


class ModuleEnsemble(Ensemble):
    """E copies of a user's module, one per member seed. forward: (E, B, *input) -> (E, B, ...)."""

    def __init__(
        self, seeds: list[int], build, size: int, input_shape: tuple, num_outputs: int, options: dict, task: str
    ):
        super().__init__(seeds)
        models = [build_member(build, s, size, input_shape, num_outputs, options) for s in seeds]
        params, buffers = stack_module_state(models)
        # the template whose code runs, its tensors replaced by each member's slice; kept out of
        # the module tree (a list), so that its own parameters are neither trained nor counted
        self._template = [meta_copy(build, size, input_shape, num_outputs, options) or models[0]]
        # the module's tensor names -> the attributes holding them stacked ("0.weight" -> "0__weight")
        self._names = {name: name.replace(".", "__") for name in [*params, *buffers]}
        for name, value in params.items():
            self.register_parameter(self._names[name], torch.nn.Parameter(value.detach().clone()))
        for name, value in buffers.items():
            self.register_buffer(self._names[name], value.clone())
        self._buffer_names = list(buffers)
        # positions predicted per example: every token of a language model's window, else one
        self.positions = int(input_shape[0]) if task == "lm" else 1
        self.tokens = task == "lm"  # token ids are stored as bytes; the module gets int64, as nn.Embedding wants
        self.num_outputs = int(num_outputs)
        own_count = getattr(models[0], "flops_per_example", None)
        self._flops = own_count() if callable(own_count) else None  # the module's own FLOPs per example

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stacked = {name: getattr(self, attr) for name, attr in self._names.items()}
        x = x.long() if self.tokens else x
        outputs = []
        for e in range(self.members):  # member e on its slices of the stacked tensors
            outputs.append(functional_call(self._template[0], {k: v[e] for k, v in stacked.items()}, (x[e],)))
        return torch.stack(outputs)

    def member_buffers(self) -> list[torch.Tensor]:
        return [getattr(self, self._names[name]) for name in self._buffer_names]

    def train(self, mode: bool = True):
        super().train(mode)
        self._template[0].train(mode)  # dropout and the like follow the ensemble's mode
        return self

    def flops_per_example(self) -> float:
        """The module's own count if it has one, else 6 x parameters x positions per example."""
        if self._flops is not None:
            return float(self._flops)
        return 6.0 * self.param_count() * self.positions

    def eval_rows(self, budget: int) -> int:
        outputs = self.num_outputs * self.positions
        return max(1, min(budget, LOGIT_BUDGET // (self.members * outputs)))


def output_shape(input_shape: tuple, num_outputs: int, task: str) -> tuple:
    """The shape a module must give for a batch of 2: (2, K), or (2, T, K) for a language model."""
    return (2, input_shape[0], num_outputs) if task == "lm" else (2, num_outputs)


def check_build(build, where: str, field: str, sizes: list[int], data, options: dict, error) -> None:
    """Build and run the module at every size on `data`'s shapes (a Dataset: its input_shape,
    num_outputs and task) before any job trains; `error` names what is wrong.

    Each size is built and run on PyTorch's meta device (shapes only, no memory); a size whose
    code cannot run there (it reads values, say) is built and run for real on 2 examples. The
    smallest size also runs as a 2-member ensemble, which is how training runs it (members must
    have the same parameters, shape for shape)."""
    input_shape, num_outputs, task = tuple(int(d) for d in data.input_shape), int(data.num_outputs), data.task
    dtype = torch.long if task == "lm" else torch.float32
    want = output_shape(input_shape, num_outputs, task)
    for size in sorted(sizes):
        try:
            with torch.device("meta"):
                module = build_member(build, 0, size, input_shape, num_outputs, options)
                out = (
                    module(torch.zeros((2, *input_shape), dtype=dtype)) if isinstance(module, torch.nn.Module) else None
                )
        except Exception:  # noqa: BLE001 - not runnable on meta: run it for real below
            module = out = None
        if out is None:
            module = _call(
                lambda: build_member(build, 0, size, input_shape, num_outputs, options), field, where, size, error
            )
            if not isinstance(module, torch.nn.Module):
                raise error(f"{field}: {where} returned {type(module).__name__} at size {size}, not a torch.nn.Module")
            out = _call(lambda: module(torch.zeros((2, *input_shape), dtype=dtype)), field, where, size, error)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise error(
                f"{field}: {where} at size {size} gives outputs of shape {got} for inputs of shape "
                f"{(2, *input_shape)}; expected {want}"
            )
    smallest = min(sizes)
    pair = _call(
        lambda: ModuleEnsemble([0, 1], build, smallest, input_shape, num_outputs, options, task),
        field,
        where,
        smallest,
        error,
        "as an ensemble",
    )
    x = torch.zeros((2, 2, *input_shape), dtype=dtype)
    _call(lambda: pair(x).float().sum().backward(), field, where, smallest, error, "as an ensemble")


def _call(fn, field: str, where: str, size: int, error, how: str = ""):
    """fn(), or `error` in one line naming the field, the code, the size and what it raised."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - whatever the user's code raises becomes one line
        message = (str(exc).strip().splitlines() or [""])[0]
        raise error(
            f"{field}: {where} at size {size}{' ' + how if how else ''} raised {type(exc).__name__}: {message}"
        ) from None
