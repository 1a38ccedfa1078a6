"""Anchor (a): a 1024×1024 · 1024×1024 float32 matrix product in PyTorch.

Mirrors the `gemm` workload of bench/workloads.ts (tf.matMul of two N(0, 1) 1024² matrices).
torch.mm writes into a preallocated output, so the time is the BLAS sgemm call alone
(2·1024³ FLOPs). `--size` changes N.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 bench/anchors/gemm.py
"""

from __future__ import annotations

import argparse

import torch

import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=1024, help="N of the N×N·N×N product")


def main() -> None:
    args = common.parse_args(__doc__.splitlines()[0], add_arguments)
    env = common.configure(args)
    n = args.size
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    common.log(f"gemm {n}³ on {env['threads']} threads, BLAS {env['blas_kind']} ({env['blas']})")

    all_ms = common.time_step(lambda: torch.mm(a, b, out=c), args.repeats, args.warmup, "gemm")
    flops = 2 * n**3
    gflops = flops / (common.median(all_ms) * 1e6)
    common.emit(
        args,
        env,
        f"gemm_{n}",
        all_ms,
        {"size": n, "flops": flops},
        gflops=round(gflops, 1),
    )


if __name__ == "__main__":
    main()
