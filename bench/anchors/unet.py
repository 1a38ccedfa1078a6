"""The reference DDPM U-Net of genlab in PyTorch: a module-for-module copy of
lib/models/diffusion/unet.ts with UNET_DEFAULTS (1,035,457 parameters), for the speed anchors
unet_train_step.py and unet_denoise.py.

    t ─ sinusoid(32) ─ Linear 32→128 ─ SiLU ─ Linear 128→128 ─────────────── temb (every block)
    x 1×28×28 ─ conv3×3 → 32
      level 0 (28×28):  Res 32→32              ──skip──┐
      down:             conv3×3/2   28→14              │
      level 1 (14×14):  Res 32→64              ──skip┐ │
      down:             conv3×3/2   14→7             │ │
      middle (7×7):     Res 64→128 · SelfAttn 128 · Res 128→128
      up:               nearest×2 + conv3×3 128→64   │ │
      level 1 (14×14):  Res [64 ‖ 64]→64      ◀──────┘ │
      up:               nearest×2 + conv3×3 64→32      │
      level 0 (28×28):  Res [32 ‖ 32]→32      ◀────────┘
    GN ─ SiLU ─ conv3×3 32→1 ─ ε̂

Layout: NCHW, torch's native layout (genlab is NHWC, tfjs' layout); channels are concatenated
on dim 1 here where genlab concatenates on axis 3, in the same order ([h ‖ skip]). Modules are
created in genlab's construction order, so `parameters()` lists the tensors in the order of
UNet.variables() (kernels transposed to torch's [out, in, kh, kw] / [out, in] layouts).
Initialization follows genlab (Glorot-uniform kernels, zero biases, GN γ = 1, β = 0); it does
not affect the timing. Class conditioning (numClasses) is not reproduced: the anchors time the
unconditional default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# UNet.countParams() with UNET_DEFAULTS (also asserted by genlab's own tests and README).
GENLAB_UNET_PARAMETERS = 1_035_457


@dataclass(frozen=True)
class UNetConfig:
    """UNET_DEFAULTS of lib/models/diffusion/unet.ts."""

    base_channels: int = 32
    channel_mults: tuple[int, ...] = (1, 2, 4)
    res_blocks_per_level: int = 1
    attention_resolutions: tuple[int, ...] = (7,)
    groups: int = 8
    time_embedding_dim: int = 128
    attention_heads: int = 1
    image_channels: int = 1
    image_size: int = 28


def _glorot(module: nn.Module) -> None:
    """lib/nn/blocks.ts ParamScope.glorot / zeros: Glorot-uniform kernels (fan_in = k·k·in,
    fan_out = k·k·out, as in tfjs), zero biases."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


class SameConv2d(nn.Conv2d):
    """lib/nn/blocks.ts Conv2d: k×k convolution with bias and tfjs 'same' padding.

    tfjs pads out = ⌈in/stride⌉ with total = max((out − 1)·stride + k − in, 0), the smaller half
    before, the larger after. For 3×3 at stride 1 that is 1 on each side (torch's padding=1);
    for 3×3 at stride 2 on an even size (28 → 14, 14 → 7) it is 0 before and 1 after, which
    torch's symmetric `padding` cannot express: those convs pad explicitly with F.pad.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=True)

    @staticmethod
    def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self._same_padding(x.shape[2], self.kernel_size[0], self.stride[0])
        left, right = self._same_padding(x.shape[3], self.kernel_size[1], self.stride[1])
        if top == bottom and left == right:
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left))
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride)


class ResBlock(nn.Module):
    """lib/nn/blocks.ts ResBlock (DDPM, Ho et al. 2020, Appendix B):

    h = conv₁(SiLU(GN(x))) + Linear(SiLU(temb));  h = conv₂(SiLU(GN(h)));  out = skip(x) + h,
    skip = 1×1 conv when the channels change. Group norm eps 1e-5 (genlab's groupNorm default).
    """

    def __init__(self, in_channels: int, out_channels: int, time_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=1e-5)
        self.conv1 = SameConv2d(in_channels, out_channels)
        self.time = nn.Linear(time_dim, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=1e-5)
        self.conv2 = SameConv2d(out_channels, out_channels)
        self.skip = (
            SameConv2d(in_channels, out_channels, kernel_size=1)
            if in_channels != out_channels
            else None
        )

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class SelfAttention2d(nn.Module):
    """lib/nn/attention.ts SelfAttention2d: multi-head self-attention over the H·W positions,

    h = GN(x);  q, k, v = split(h·W_qkv + b);  out = x + (softmax(q kᵀ/√d) v)·W_o + b_o,
    one fused qkv projection (C → 3C, split in the order q, k, v) as in genlab.
    """

    def __init__(self, channels: int, groups: int, heads: int = 1) -> None:
        super().__init__()
        if channels % heads != 0:
            raise ValueError(f"attention: {channels} channels not divisible by {heads} heads")
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels, eps=1e-5)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n, heads, d = h * w, self.heads, c // self.heads
        flat = self.norm(x).reshape(b, c, n).transpose(1, 2)  # [B, N, C]
        q, k, v = (
            t.reshape(b, n, heads, d).transpose(1, 2)  # [B, heads, N, d]
            for t in self.qkv(flat).chunk(3, dim=-1)
        )
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
        attended = torch.matmul(scores.softmax(dim=-1), v)  # [B, heads, N, d]
        merged = attended.transpose(1, 2).reshape(b, n, c)
        out = self.out(merged).transpose(1, 2).reshape(b, c, h, w)
        return x + out

    def matmul_flops(self, x: torch.Tensor) -> int:
        """FLOPs of q·kᵀ and softmax·v (for common.forward_flops)."""
        b, c, h, w = x.shape
        return 2 * 2 * b * (h * w) ** 2 * c


class Downsample(nn.Module):
    """lib/nn/blocks.ts Downsample: 3×3 conv at stride 2, tfjs 'same' padding (H → ⌈H/2⌉)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = SameConv2d(in_channels, out_channels, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """lib/nn/blocks.ts Upsample: nearest-neighbour 2× (tf.image.resizeNearestNeighbor without
    align corners / half-pixel centres = source index ⌊i/2⌋, as F.interpolate 'nearest'), then a
    3×3 conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = SameConv2d(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """lib/nn/time_embedding.ts: [B] → [B, dim] = [sin(t·f_i) ‖ cos(t·f_i)], f_i = 10000^(−2i/d)."""
    if dim % 2 != 0 or dim < 2:
        raise ValueError(f"sinusoidal embedding dim must be even, got {dim}")
    half = dim // 2
    freqs = torch.pow(max_period, -2.0 * torch.arange(half, dtype=torch.float32) / dim)
    args = t.to(torch.float32).reshape(-1, 1) * freqs.reshape(1, half)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class Level(nn.Module):
    """One resolution of the down or up path (genlab's `Level`): `units` of (res block,
    self-attention or identity); an up level starts with its Upsample, a down level ends with its
    Downsample. Submodules register in genlab's construction order."""

    def __init__(self, resolution: int, upsample: Upsample | None = None) -> None:
        super().__init__()
        self.resolution = resolution
        self.upsample = upsample
        self.units = nn.ModuleList()
        self.downsample: Downsample | None = None

    def add_unit(self, block: ResBlock, attention: nn.Module) -> None:
        self.units.append(nn.ModuleList([block, attention]))


class UNet(nn.Module):
    """lib/models/diffusion/unet.ts UNet: ε_θ(x_t, t) → ε̂ with x_t's shape (NCHW here)."""

    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        c = config
        self.config = config
        levels = len(c.channel_mults)
        if levels < 2:
            raise ValueError("UNet needs at least two channel_mults (one level + middle)")
        if c.image_size % 2 ** (levels - 1) != 0:
            raise ValueError(f"image_size {c.image_size} is not divisible by 2^{levels - 1}")
        T, G = c.time_embedding_dim, c.groups

        def width(i: int) -> int:
            return c.base_channels * c.channel_mults[i]

        def attend(res: int, ch: int) -> nn.Module:
            if res in c.attention_resolutions:
                return SelfAttention2d(ch, G, c.attention_heads)
            return nn.Identity()

        self.time_mlp = nn.Sequential(
            nn.Linear(c.base_channels, T), nn.SiLU(), nn.Linear(T, T)
        )
        self.stem = SameConv2d(c.image_channels, width(0))

        # Down path: levels 0 … L−2, each followed by a stride-2 conv that keeps the width.
        ch, res = width(0), c.image_size
        skip_channels: list[int] = []
        self.down = nn.ModuleList()
        for i in range(levels - 1):
            level = Level(res)
            for _ in range(c.res_blocks_per_level):
                block = ResBlock(ch, width(i), T, G)
                ch = width(i)
                level.add_unit(block, attend(res, ch))
                skip_channels.append(ch)
            level.downsample = Downsample(ch, ch)
            self.down.append(level)
            res //= 2

        # Middle (level L−1): Res → SelfAttention → Res.
        mid = width(levels - 1)
        self.mid_block1 = ResBlock(ch, mid, T, G)
        self.mid_attention = attend(res, mid)
        self.mid_block2 = ResBlock(mid, mid, T, G)
        ch = mid

        # Up path: levels L−2 … 0, each entered by nearest-2× + conv to the level's width; every
        # res block takes the matching down-path activation concatenated on channels.
        self.up = nn.ModuleList()
        for i in range(levels - 2, -1, -1):
            res *= 2
            level = Level(res, upsample=Upsample(ch, width(i)))
            ch = width(i)
            for _ in range(c.res_blocks_per_level):
                block = ResBlock(ch + skip_channels.pop(), width(i), T, G)
                ch = width(i)
                level.add_unit(block, attend(res, ch))
            self.up.append(level)

        self.out_norm = nn.GroupNorm(G, ch, eps=1e-5)
        self.out_conv = SameConv2d(ch, c.image_channels)
        self.apply(_glorot)

    def embed(self, t: torch.Tensor) -> torch.Tensor:
        """The time embedding fed to every residual block: [B, time_embedding_dim]."""
        return self.time_mlp(sinusoidal_embedding(t, self.config.base_channels))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.embed(t)
        h = self.stem(x)
        skips: list[torch.Tensor] = []
        for level in self.down:
            for block, attention in level.units:
                h = attention(block(h, temb))
                skips.append(h)
            h = level.downsample(h)
        h = self.mid_block1(h, temb)
        h = self.mid_attention(h)
        h = self.mid_block2(h, temb)
        for level in self.up:
            h = level.upsample(h)
            for block, attention in level.units:
                h = attention(block(torch.cat([h, skips.pop()], dim=1), temb))
        return self.out_conv(F.silu(self.out_norm(h)))


def build_unet() -> UNet:
    """The reference U-Net with UNET_DEFAULTS, its parameter count asserted equal to genlab's."""
    model = UNet(UNetConfig())
    count = sum(p.numel() for p in model.parameters())
    if count != GENLAB_UNET_PARAMETERS:
        raise AssertionError(f"U-Net has {count:,} parameters, genlab's has 1,035,457")
    return model
