"""A small GPT in plain PyTorch, as a user would write it (after nanoGPT's model.py).

`build(size, input_shape, num_outputs, **options)` is what a study's `models.<name>.type:
"examples/gpt.py:build"` calls: size = width d, input_shape = (context,), num_outputs = vocab
size. The model maps (B, T) int64 token ids to (B, T, vocab) logits: token and position
embeddings, pre-LayerNorm blocks (causal self-attention, 4d GELU MLP), an output layer tied to
the token embedding. benchmarks/bench_lm.py times it against the project's transformer family.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.up, self.down = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, dim)
        B, T, dim = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, heads, T, head size)
        x = x + self.proj(att.transpose(1, 2).reshape(B, T, dim))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab: int, context: int, dim: int, layers: int, heads: int):
        super().__init__()
        self.context, self.dim, self.layers = context, dim, layers
        self.token, self.position = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.token.weight  # tied output layer
        for name, p in self.named_parameters():  # GPT-2's initialisation
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:  # residual writes (proj, down) scaled down with depth
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "down.weight")) else 0.02
                nn.init.normal_(p, std=std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # (B, T) token ids -> (B, T, vocab)
        T = idx.shape[1]
        x = self.token(idx) + self.position(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def param_count(self) -> int:
        """Non-embedding parameters (Kaplan et al.'s N; the tied head is the token embedding)."""
        embeddings = self.token.weight.numel() + self.position.weight.numel()
        return sum(p.numel() for p in self.parameters()) - embeddings

    def flops_per_example(self) -> float:
        """Training FLOPs per window: 6N + 6 * layers * context * d per token, times the context."""
        return self.context * (6.0 * self.param_count() + 6.0 * self.layers * self.context * self.dim)


def build(size, input_shape, num_outputs, depth=None, head_dim=64) -> nn.Module:
    """A GPT of width `size`; `depth` layers (default: one per 32 channels), heads of `head_dim`."""
    (context,) = input_shape
    layers = depth or max(1, round(size / 32))
    return GPT(num_outputs, context, size, layers, heads=max(1, size // head_dim))
