"""Anchor (d): one denoising pass of genlab's reference U-Net in PyTorch, batch 64.

Mirrors the `unet-denoise` workload of bench/workloads.ts: one forward pass ε̂ = ε_θ(x_t, t) of the
U-Net of unet.py (a copy of lib/models/diffusion/unet.ts, 1,035,457 parameters, asserted) on a
fixed batch of N(0, 1) 28×28×1 images, t = 500 for the whole batch, under torch.no_grad() — the
network evaluation inside one step of a sampler. NCHW layout (torch's native one; genlab is
NHWC). OpenBLAS's own thread pool defaults to 1 (--blas-threads; see common.py).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 bench/anchors/unet_denoise.py
"""

from __future__ import annotations

import torch

import common
from unet import GENLAB_UNET_PARAMETERS, build_unet


def main() -> None:
    args = common.parse_args(__doc__.splitlines()[0], blas_threads_default=1)
    env = common.configure(args)
    model = build_unet().eval()  # no dropout or batch norm: eval() changes nothing, but says it
    x_t = torch.randn(args.batch, 1, 28, 28)
    t = torch.full((args.batch,), 500.0)
    flops = common.forward_flops(model, x_t, t)
    common.log(
        f"unet denoise: {GENLAB_UNET_PARAMETERS:,} parameters (= genlab), forward "
        f"{flops / 1e9:.2f} GFLOP at batch {args.batch}, {env['threads']} threads, "
        f"BLAS {env['blas_kind']}"
    )

    def step() -> torch.Tensor:
        with torch.no_grad():
            return model(x_t, t)

    all_ms = common.time_step(step, args.repeats, args.warmup, "unet denoise")
    common.emit(
        args,
        env,
        "unet_denoise",
        all_ms,
        {"parameters": GENLAB_UNET_PARAMETERS, "forward_flops": flops, "t": 500},
        gflops=round(flops / (common.median(all_ms) * 1e6), 1),
    )


if __name__ == "__main__":
    main()
