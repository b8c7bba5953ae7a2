"""benchmarks/bench_lm.py's tiny CPU run, its FLOPs formula, and examples/gpt.py, the plain
PyTorch GPT it times (and README's example of a user's own model)."""

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "examples")]

import gpt  # noqa: E402  (examples/gpt.py)

import bench_lm  # noqa: E402
from scalinglaws.models import build_ensemble  # noqa: E402


@pytest.mark.slow  # 10 s alone on 2 cores (CPU bf16 kernels warm up per shape), 14 s on a loaded machine
def test_quick_run_measures_the_plain_loop_and_the_ensemble():
    rows = bench_lm.main(["--quick", "--methods", "ac", "--widths", "32", "--batches", "4", "--steps", "3"])
    assert [r["method"] for r in rows] == ["(a) eager", "(c) ensemble"]
    for r in rows:
        assert r["error"] is None, r["error"]
        assert r["rate"] > 0 and r["tokens"] == 4 * 32
        assert r["params"] == 2 * (12 * 32**2 + 13 * 32) + 2 * 32  # the same N for both models


def test_flops_per_token_is_the_transformer_familys():
    width, layers, context = 64, 3, 16
    ens = build_ensemble("transformer", [0, 1], width, (context,), 256, {"depth": layers, "head_dim": 16})
    ours = bench_lm.flops_per_token(ens.param_count(), layers, context, width)
    assert ours == ens.flops_per_example() / context
    model = gpt.build(width, (context,), 256, depth=layers, head_dim=16)
    assert model.param_count() == ens.param_count()
    assert model.flops_per_example() / context == ours


def test_gpt_maps_tokens_to_logits_and_counts_kaplans_n():
    width, layers, context, vocab = 64, 2, 16, 256
    model = gpt.build(width, (context,), vocab, depth=layers)
    logits = model(torch.randint(vocab, (2, context)))
    assert logits.shape == (2, context, vocab)
    # N (non-embedding) per block: the four weight matrices 12 d^2, their biases 3d + d + 4d + d,
    # two LayerNorms 4d; plus the final LayerNorm 2d
    n = layers * (12 * width**2 + 13 * width) + 2 * width
    assert model.param_count() == n
    # every parameter: N plus the token and position embeddings; the tied head adds nothing
    assert sum(p.numel() for p in model.parameters()) == n + vocab * width + context * width
