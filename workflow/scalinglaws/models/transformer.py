"""Transformer family: a decoder-only byte-level language model; size = model width d.

Depth rule: `depth` layers if given, else max(1, round(d / aspect)) (aspect 32: widths 32, 64,
128, 256 get 1, 2, 4, 8 layers, a fixed shape as Kaplan et al. 2020 scale it); heads of
`head_dim` channels. Pre-LayerNorm blocks (causal self-attention, 4d GELU MLP), learned
positions, and an output layer tied to the token embedding. The parameter count excludes the
token and position embeddings, as Kaplan et al. count N (about 12 * layers * d^2).

All members run at once: every linear layer is one batched matmul over stacked weights, and
attention folds the members into the batch axis of scaled_dot_product_attention.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import Ensemble, StackedLinear, layer_seeds, member_normal

LOGIT_BUDGET = 2**24  # logits per evaluation chunk (all members together)


class StackedLayerNorm(torch.nn.Module):
    def __init__(self, members: int, dim: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(members, 1, dim))
        self.bias = torch.nn.Parameter(torch.zeros(members, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (E, rows, dim)
        return F.layer_norm(x, x.shape[-1:]) * self.weight + self.bias


class Block(torch.nn.Module):
    def __init__(self, seeds: list[int], dim: int, heads: int, layers: int, index: int):
        super().__init__()
        E, residual_gain = len(seeds), 1.0 / math.sqrt(2 * layers)  # GPT-2: residual writes scaled down
        self.heads = heads
        self.ln1, self.ln2 = StackedLayerNorm(E, dim), StackedLayerNorm(E, dim)
        self.qkv = StackedLinear(layer_seeds(seeds, 10 * index + 1), dim, 3 * dim, gain=1.0)
        self.proj = StackedLinear(layer_seeds(seeds, 10 * index + 2), dim, dim, gain=residual_gain)
        self.up = StackedLinear(layer_seeds(seeds, 10 * index + 3), dim, 4 * dim, gain=1.0)
        self.down = StackedLinear(layer_seeds(seeds, 10 * index + 4), 4 * dim, dim, gain=residual_gain)

    def forward(self, x: torch.Tensor, batch: int) -> torch.Tensor:  # x: (E, batch * T, dim)
        E, rows, dim = x.shape
        T, H = rows // batch, self.heads
        q, k, v = self.qkv(self.ln1(x)).view(E * batch, T, 3, H, dim // H).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (E * batch, H, T, dim / H)
        x = x + self.proj(att.transpose(1, 2).reshape(E, rows, dim))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class TransformerEnsemble(Ensemble):
    def __init__(
        self,
        seeds: list[int],
        size: int,
        input_shape: tuple[int, ...],
        num_outputs: int,
        depth: int | None,
        aspect: int,
        head_dim: int,
    ):
        super().__init__(seeds)
        if len(input_shape) != 1:
            raise ValueError(f"models: the transformer family needs token windows (context,), got shape {input_shape}")
        dim, self.context, self.vocab = int(size), int(input_shape[0]), int(num_outputs)
        self.layers = int(depth) if depth else max(1, round(dim / aspect))
        heads = max(1, dim // head_dim)
        if dim % heads:
            raise ValueError(
                f"models: transformer width {dim} does not split into {heads} heads of about head_dim {head_dim}"
            )
        self.token = torch.nn.Parameter(member_normal(layer_seeds(seeds, 0), (self.vocab, dim), 1.0 / math.sqrt(dim)))
        self.position = torch.nn.Parameter(
            member_normal(layer_seeds(seeds, 1), (self.context, dim), 1.0 / math.sqrt(dim))
        )
        self.blocks = torch.nn.ModuleList(Block(seeds, dim, heads, self.layers, i + 1) for i in range(self.layers))
        self.ln_f = StackedLayerNorm(len(seeds), dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (E, B, T) token ids -> (E, B, T, vocab)
        E, B, T = x.shape
        members = torch.arange(E, device=x.device).view(E, 1, 1)
        h = self.token[members, x.long()] + self.position[:, None, :T]  # (E, B, T, dim)
        h = h.reshape(E, B * T, -1)
        for block in self.blocks:
            h = block(h, B)
        logits = torch.bmm(self.ln_f(h), self.token.transpose(1, 2))  # tied output layer
        return logits.view(E, B, T, self.vocab)

    def param_count(self) -> int:
        """Non-embedding parameters of one member (Kaplan et al.'s N)."""
        embeddings = self.token.numel() + self.position.numel()
        return (sum(p.numel() for p in self.parameters()) - embeddings) // self.members

    def flops_per_example(self) -> float:
        """Kaplan et al.'s training compute per token, 6N + 6 * layers * context * d, times the window."""
        dim = self.token.shape[-1]
        return self.context * (6.0 * self.param_count() + 6.0 * self.layers * self.context * dim)

    def eval_rows(self, budget: int) -> int:
        return max(1, min(budget, LOGIT_BUDGET // (self.members * self.context * self.vocab)))
