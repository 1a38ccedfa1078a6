"""Anchor (b): one DCGAN training step (D step + G step) in PyTorch, batch 64, 28×28×1.

A layer-for-layer copy of genlab's full-width DCGAN, lib/models/gan/dcgan.ts with DCGAN_DEFAULTS
(latent 100, 64 filters in G and D, kernel 4, Adam lr 2e-4 β=(0.5, 0.999), batch norm in D),
timed like the `dcgan` workload of bench/workloads.ts (trainStep on one fixed real batch of
U(−1, 1) images). Reports the medians of the D step, the G step, and D+G (the step time).

Correspondences with tfjs (the FLOPs are the same; layouts differ, NCHW here, NHWC in genlab):
  * tfjs 'same' padding for a 4×4 kernel at stride 2 on 28 → 14 → 7 pads 1 on every side (the
    total, 2, is even), i.e. Conv2d(padding=1); the transposed convs 7 → 14 → 28 are the
    gradients of those convs, i.e. ConvTranspose2d(padding=1).
  * tf.layers.batchNormalization defaults: epsilon 1e-3 (torch: 1e-5), momentum 0.9 for the
    moving averages (torch's `momentum` is the weight of the new value: 0.1).
  * G's first batch norm follows the dense layer, so it normalizes each of the 7·7·128 units
    (BatchNorm1d(6272)), before the reshape.
  * tf.train.adam's epsilon is 1e-7 (torch: 1e-8).
  * D step: G runs forward (training mode) outside the gradient; D is applied to the real and the
    fake batch separately (two batch-norm statistics); loss softplus(−D(x)) + softplus(D(G(z))).
    G step: only G's weights get gradients (tfjs' minimize with G's var list backpropagates
    through D to its input but computes no D weight gradients), so D's parameters are frozen
    for it; loss softplus(−D(G(z))) (non-saturating). Both steps end by reading the loss.

OpenBLAS's own thread pool defaults to 1 here (--blas-threads; see common.py: two spinning pools
of 2 threads on 2 cores made this step 1.4–4× slower and very noisy).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 bench/anchors/dcgan_step.py
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

import common

# Parameter counts of genlab's models with DCGAN_DEFAULTS on 28×28×1 (tfjs countParams(),
# read off with a scratch Deno script: trainable weights + batch-norm moving mean/variance).
GENLAB_COUNTS = {
    "generator": {"trainable": 771_969, "buffers": 12_672, "total": 784_641},
    "discriminator": {"trainable": 138_689, "buffers": 256, "total": 138_945},
}

TFJS_BN_EPSILON = 1e-3
TORCH_BN_MOMENTUM = 0.1  # = 1 − tfjs momentum 0.9
TFJS_ADAM_EPSILON = 1e-7


@dataclass(frozen=True)
class DcganConfig:
    """DCGAN_DEFAULTS of lib/models/gan/dcgan.ts."""

    latent_dim: int = 100
    generator_filters: int = 64
    discriminator_filters: int = 64
    learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    kernel_size: int = 4
    discriminator_norm: str = "batch"  # "batch" | "none"


def _dcgan_normal(module: nn.Module) -> None:
    """N(0, 0.02²) kernels, zero biases, unit/zero batch-norm affine (lib/nn/init.ts dcganNormal
    and the tf.layers defaults)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """buildGenerator: z → dense(7·7·2f, no bias) → BN → ReLU → reshape → convT(f, 4, s2, no bias)
    → BN → ReLU → convT(c, 4, s2, bias) → tanh."""

    def __init__(self, config: DcganConfig, size: int = 28, channels: int = 1) -> None:
        super().__init__()
        f, k = config.generator_filters, config.kernel_size
        self.h0 = size // 4
        self.f = f
        units = self.h0 * self.h0 * 2 * f
        self.dense = nn.Linear(config.latent_dim, units, bias=False)
        self.bn0 = nn.BatchNorm1d(units, eps=TFJS_BN_EPSILON, momentum=TORCH_BN_MOMENTUM)
        self.up1 = nn.ConvTranspose2d(2 * f, f, k, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(f, eps=TFJS_BN_EPSILON, momentum=TORCH_BN_MOMENTUM)
        self.up2 = nn.ConvTranspose2d(f, channels, k, stride=2, padding=1, bias=True)
        self.apply(_dcgan_normal)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn0(self.dense(z)))
        h = h.view(-1, 2 * self.f, self.h0, self.h0)
        h = F.relu(self.bn1(self.up1(h)))
        return torch.tanh(self.up2(h))


class Discriminator(nn.Module):
    """buildDiscriminator: x → conv(f, 4, s2, bias) → LReLU(0.2) → conv(2f, 4, s2, no bias) → BN
    → LReLU(0.2) → flatten → dense(1): a logit."""

    def __init__(self, config: DcganConfig, size: int = 28, channels: int = 1) -> None:
        super().__init__()
        f, k = config.discriminator_filters, config.kernel_size
        batch_norm = config.discriminator_norm == "batch"
        self.conv1 = nn.Conv2d(channels, f, k, stride=2, padding=1, bias=True)
        self.conv2 = nn.Conv2d(f, 2 * f, k, stride=2, padding=1, bias=not batch_norm)
        self.bn2: nn.Module = (
            nn.BatchNorm2d(2 * f, eps=TFJS_BN_EPSILON, momentum=TORCH_BN_MOMENTUM)
            if batch_norm
            else nn.Identity()
        )
        self.logit = nn.Linear((size // 4) ** 2 * 2 * f, 1)
        self.apply(_dcgan_normal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
        return self.logit(torch.flatten(h, 1))


class Dcgan:
    """Dcgan's discriminatorStep / generatorStep (lib/models/gan/dcgan.ts, losses from
    lib/nn/losses.ts in their softplus forms)."""

    def __init__(self, config: DcganConfig) -> None:
        self.config = config
        self.generator = Generator(config).train()
        self.discriminator = Discriminator(config).train()
        betas = (config.beta1, config.beta2)
        lr = config.learning_rate
        self.g_optimizer = torch.optim.Adam(
            self.generator.parameters(), lr=lr, betas=betas, eps=TFJS_ADAM_EPSILON
        )
        self.d_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=lr, betas=betas, eps=TFJS_ADAM_EPSILON
        )

    def latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim)

    def discriminator_step(self, real: torch.Tensor) -> float:
        """Minimize −log D(x) − log(1 − D(G(z))) over D's weights; G held fixed."""
        z = self.latent(real.shape[0])
        with torch.no_grad():
            fake = self.generator(z)
        self.d_optimizer.zero_grad(set_to_none=True)
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake)
        loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        loss.backward()
        self.d_optimizer.step()
        return loss.item()

    def generator_step(self, n: int) -> float:
        """Minimize −log D(G(z)) (non-saturating) over G's weights; D held fixed."""
        z = self.latent(n)
        self.discriminator.requires_grad_(False)
        try:
            self.g_optimizer.zero_grad(set_to_none=True)
            loss = F.softplus(-self.discriminator(self.generator(z))).mean()
            loss.backward()
            self.g_optimizer.step()
        finally:
            self.discriminator.requires_grad_(True)
        return loss.item()


def check_counts(model: Dcgan) -> dict[str, dict[str, int]]:
    """Parameter counts of G and D, asserted equal to genlab's."""
    counts = {
        "generator": common.count_parameters(model.generator),
        "discriminator": common.count_parameters(model.discriminator),
    }
    for net, expected in GENLAB_COUNTS.items():
        if counts[net] != expected:
            raise AssertionError(f"{net}: {counts[net]} parameters, genlab has {expected}")
    return counts


def main() -> None:
    args = common.parse_args(__doc__.splitlines()[0], blas_threads_default=1)
    env = common.configure(args)
    config = DcganConfig()
    model = Dcgan(config)
    counts = check_counts(model)
    common.log(
        f"dcgan: G {counts['generator']['total']:,} / D {counts['discriminator']['total']:,} "
        f"parameters (= genlab), batch {args.batch}, {env['threads']} threads, "
        f"BLAS {env['blas_kind']}"
    )
    flops = {
        "generator_forward": common.forward_flops(model.generator, model.latent(args.batch)),
        "discriminator_forward": common.forward_flops(
            model.discriminator, torch.zeros(args.batch, 1, 28, 28)
        ),
    }
    real = torch.rand(args.batch, 1, 28, 28) * 2 - 1  # U(−1, 1), like the genlab workload

    times = common.time_phases(
        {
            "d": lambda: model.discriminator_step(real),
            "g": lambda: model.generator_step(args.batch),
        },
        args.repeats,
        args.warmup,
        "dcgan",
    )
    step_ms = [d + g for d, g in zip(times["d"], times["g"])]
    common.emit(
        args,
        env,
        "dcgan_step",
        step_ms,
        {"config": asdict(config), "parameters": counts, "forward_flops": flops},
        d_median_ms=round(common.median(times["d"]), 3),
        g_median_ms=round(common.median(times["g"]), 3),
        d_all_ms=[round(ms, 3) for ms in times["d"]],
        g_all_ms=[round(ms, 3) for ms in times["g"]],
    )


if __name__ == "__main__":
    main()
