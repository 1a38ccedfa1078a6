"""Anchor (c): one DDPM training step of genlab's reference U-Net in PyTorch, batch 64.

Mirrors the `unet-train` workload of bench/workloads.ts: the U-Net of unet.py (a copy of
lib/models/diffusion/unet.ts, 1,035,457 parameters, asserted) predicts the noise in a fixed batch
x_t of N(0, 1) 28×28×1 images at random integer timesteps t ∈ [0, 1000); loss = mean squared
error against a fixed N(0, 1) noise target; backward; one Adam step (tf.train.adam(2e-4):
β = (0.9, 0.999), ε = 1e-7). As in the genlab workload, the noising x_t = √ᾱ x₀ + √(1−ᾱ) ε is
not part of the timed step (it is elementwise work on 50k values). The step ends by reading the
loss. NCHW layout (torch's native one; genlab is NHWC). OpenBLAS's own thread pool defaults to 1
(--blas-threads; see common.py).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 bench/anchors/unet_train_step.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import common
from unet import GENLAB_UNET_PARAMETERS, build_unet

TFJS_ADAM_EPSILON = 1e-7


def main() -> None:
    args = common.parse_args(__doc__.splitlines()[0], blas_threads_default=1)
    env = common.configure(args)
    model = build_unet().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, eps=TFJS_ADAM_EPSILON)
    x_t = torch.randn(args.batch, 1, 28, 28)
    noise = torch.randn(args.batch, 1, 28, 28)
    t = torch.randint(0, 1000, (args.batch,)).to(torch.float32)
    flops = common.forward_flops(model, x_t, t)
    common.log(
        f"unet train: {GENLAB_UNET_PARAMETERS:,} parameters (= genlab), forward "
        f"{flops / 1e9:.2f} GFLOP at batch {args.batch}, {env['threads']} threads, "
        f"BLAS {env['blas_kind']}"
    )

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x_t, t), noise)
        loss.backward()
        optimizer.step()
        return loss.item()

    all_ms = common.time_step(step, args.repeats, args.warmup, "unet train")
    common.emit(
        args,
        env,
        "unet_train_step",
        all_ms,
        {"parameters": GENLAB_UNET_PARAMETERS, "forward_flops": flops, "optimizer": "adam 2e-4"},
    )


if __name__ == "__main__":
    main()
