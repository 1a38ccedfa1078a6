"""Shared plumbing for genlab's PyTorch speed anchors (issue 3; run by `bench/compare.ts`).

Every anchor script:
  * parses the same flags (`parse_args`): --threads, --repeats, --warmup, --batch, --seed, --json,
    --blas, --blas-threads;
  * sizes torch's OpenMP pool (--threads) and OpenBLAS's separate pthread pool (--blas-threads;
    `configure`). OpenBLAS's idle workers spin, and so do OpenMP's, so on 2 cores 2 + 2 threads
    oversubscribe the CPU whenever BLAS calls and oneDNN convolutions interleave: measured here,
    a DCGAN step took 130 ms with 1 OpenBLAS thread and 180–580 ms with 2, a U-Net training
    step 390 vs 540 ms, while a lone GEMM wants 2 (11 vs 21 ms). So gemm.py defaults to
    --blas-threads = --threads and the model anchors to 1, PyTorch's fastest setting here;
  * times its step with `time_phases` (time.perf_counter around each repeat, medians reported);
  * ends with `emit`: with --json exactly one JSON object line on stdout (the format
    bench/compare.ts parses: work, median_ms, all_ms, threads, torch, blas, params, ...),
    otherwise a readable summary. Progress always goes to stderr.

Which BLAS torch uses is decided by the dynamic loader, not by torch: Debian's libtorch links
`libblas.so.3`, an alternatives symlink. Once `libopenblas0-pthread` is installed (genlab's
.ci/setup pulls it in with python3-numpy/scipy) that symlink points at OpenBLAS, so torch uses
OpenBLAS even without LD_LIBRARY_PATH. `--blas reference|openblas` re-executes the script with
LD_LIBRARY_PATH set to the matching directory, and `blas_info` reports the library whose
`sgemm_` torch actually calls, so a mislabelled run is visible in the output.
Convolutions mostly bypass BLAS: this torch build runs them through oneDNN (`libdnnl`), reported
as `onednn`.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

BLAS_DIRS = {
    "openblas": "/usr/lib/x86_64-linux-gnu/openblas-pthread",
    "reference": "/usr/lib/x86_64-linux-gnu/blas",
}


def log(message: str) -> None:
    """Human-readable progress: stderr, so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)


# ───────────────────────────── flags ─────────────────────────────


def parse_args(
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    blas_threads_default: int | None = None,
) -> argparse.Namespace:
    """The flags every anchor shares (plus script-specific ones from `add_arguments`).

    `blas_threads_default` is the script's default for --blas-threads (None: same as --threads).
    If --blas asks for a BLAS that LD_LIBRARY_PATH does not select yet, the process re-executes
    itself with the right LD_LIBRARY_PATH (the loader reads it only at start-up).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON line on stdout")
    parser.add_argument(
        "--blas",
        choices=["env", "openblas", "reference"],
        default="env",
        help="env: whatever the loader finds (default); openblas / reference: re-run with "
        "LD_LIBRARY_PATH set to Debian's OpenBLAS (pthread) / reference BLAS directory",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=blas_threads_default,
        help="threads of OpenBLAS's own pthread pool (default: "
        + ("--threads" if blas_threads_default is None else str(blas_threads_default))
        + "). It is separate from torch's OpenMP pool and its idle workers spin, so on 2 "
        "cores two pools of 2 oversubscribe the CPU while oneDNN convolutions run",
    )
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if min(args.threads, args.blas_threads, args.repeats, args.batch) < 1 or args.warmup < 0:
        parser.error("--threads, --blas-threads, --repeats and --batch must be ≥ 1, --warmup ≥ 0")
    _reexec_for_blas(args.blas)
    return args


def _reexec_for_blas(choice: str) -> None:
    if choice == "env":
        return
    wanted = BLAS_DIRS[choice]
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if current.split(":")[0] == wanted:
        return
    env = dict(os.environ, LD_LIBRARY_PATH=f"{wanted}:{current}" if current else wanted)
    log(f"re-running with LD_LIBRARY_PATH={env['LD_LIBRARY_PATH']} for --blas {choice}")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


# ───────────────────────────── threads and BLAS ─────────────────────────────


def _mapped_libraries() -> list[str]:
    """Paths of the shared objects mapped into this process."""
    paths: set[str] = set()
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and ".so" in fields[5]:
                paths.add(fields[5])
    return sorted(paths)


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def _defining_library(soname: str, symbol: str) -> str | None:
    """Real path of the file that defines `symbol` for the already-loaded `soname`
    (dlopen(RTLD_NOLOAD) + dlsym + dladdr); None if `soname` is not loaded."""
    try:
        lib = ctypes.CDLL(soname, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        address = ctypes.cast(getattr(lib, symbol), ctypes.c_void_p)
    except (OSError, AttributeError):
        return None
    libc = ctypes.CDLL(None)
    libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    info = _DlInfo()
    if not libc.dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.path.realpath(info.dli_fname.decode())


def blas_info() -> dict[str, Any]:
    """Which BLAS torch's sgemm calls land in, after a matmul has run.

    libtorch_cpu lists `libblas.so.3` as a direct dependency ahead of `liblapack.so.3` (and
    nothing loaded globally defines BLAS symbols), so its `sgemm_` binds to the loaded
    libblas.so.3. Several BLAS libraries can be mapped at once (OpenBLAS's liblapack.so.3 pulls
    in libopenblas.so.0 even when libblas.so.3 is the reference one), so the mapping alone does
    not tell; the file defining `sgemm_` does.

    blas:      that file (Debian: .../openblas-pthread/libblas.so.3 is OpenBLAS's BLAS
               interface, .../blas/libblas.so.3.* the netlib reference BLAS)
    blas_kind: "openblas" | "reference" | "mkl" | "unknown"
    openblas:  the libopenblas*.so mapped into the process, if any (its thread pool is the one
               `configure` sizes)
    onednn:    libdnnl, which runs most convolutions of this torch build whatever the BLAS
    """
    a = torch.ones(64, 64)
    torch.mm(a, a)  # make sure the BLAS is resolved and mapped
    path = _defining_library("libblas.so.3", "sgemm_")
    libs = _mapped_libraries()
    name = os.path.basename
    if path is None:  # not Debian's layout: fall back to what is mapped
        path = next((p for p in libs if name(p).startswith(("libmkl_rt", "libopenblas"))), None)
    lowered = (path or "").lower()
    if "openblas" in lowered:
        kind = "openblas"
    elif "mkl" in lowered:
        kind = "mkl"
    elif "/blas/" in lowered:
        kind = "reference"
    else:
        kind = "unknown"
    return {
        "blas": path,
        "blas_kind": kind,
        "openblas": next((p for p in libs if name(p).startswith("libopenblas")), None),
        "onednn": next((p for p in libs if name(p).startswith(("libdnnl", "libmkldnn"))), None),
    }


def configure(args: argparse.Namespace) -> dict[str, Any]:
    """Seed torch (--seed), size its intra-op OpenMP pool (--threads) and, if loaded, OpenBLAS's
    pthread pool (--blas-threads); return the environment fields of the JSON report."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    info = blas_info()
    blas_threads: int | None = None
    if info["openblas"] is not None:
        # torch.set_num_threads does not reach OpenBLAS's own pthread pool (it defaults to
        # every core, or OPENBLAS_NUM_THREADS): size it through the library itself.
        lib = ctypes.CDLL(info["openblas"], mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        lib.openblas_set_num_threads(args.blas_threads)
        if info["blas_kind"] == "openblas":
            blas_threads = int(lib.openblas_get_num_threads())
    if info["blas_kind"] == "reference":
        blas_threads = 1  # netlib BLAS is single-threaded
    return {
        "threads": torch.get_num_threads(),
        "torch": _torch_release(),
        "torch_build": torch.__version__,
        **info,
        "blas_threads": blas_threads,
    }


def _torch_release() -> str:
    """PyTorch's release: Debian's build reports torch.__version__ == "1.13.0a0" for the
    1.13.1+dfsg package, so prefer the package's upstream version when dpkg knows it."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return out.split("+")[0].split(":")[-1] or torch.__version__
    except (OSError, subprocess.SubprocessError):
        return torch.__version__


# ───────────────────────────── timing ─────────────────────────────


def time_phases(
    phases: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int,
    label: str,
) -> dict[str, list[float]]:
    """Run the phases in order, `warmup` untimed rounds then `repeats` timed ones; return each
    phase's per-round wall times in ms (time.perf_counter around each call; torch on CPU is
    synchronous, and the steps end by reading a value, so nothing is left running)."""
    times: dict[str, list[float]] = {name: [] for name in phases}
    for i in range(warmup + repeats):
        round_ms: dict[str, float] = {}
        for name, phase in phases.items():
            start = time.perf_counter()
            phase()
            round_ms[name] = (time.perf_counter() - start) * 1e3
        timed = i >= warmup
        if timed:
            for name, ms in round_ms.items():
                times[name].append(ms)
        kind = f"repeat {i - warmup + 1}/{repeats}" if timed else f"warm-up {i + 1}/{warmup}"
        log(f"{label} {kind}: " + ", ".join(f"{n} {ms:.1f} ms" for n, ms in round_ms.items()))
    return times


def time_step(step: Callable[[], object], repeats: int, warmup: int, label: str) -> list[float]:
    """`time_phases` for a single step."""
    return time_phases({"step": step}, repeats, warmup, label)["step"]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# ───────────────────────────── model bookkeeping ─────────────────────────────


def count_parameters(model: nn.Module) -> dict[str, int]:
    """trainable: parameters (what an optimizer updates); buffers: batch-norm running mean and
    variance (tfjs' countParams() includes these as non-trainable weights; the integer
    num_batches_tracked counters are left out since tfjs has no equivalent)."""
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(
        b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var"))
    )
    return {"trainable": trainable, "buffers": stats, "total": trainable + stats}


def forward_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of one forward pass in convolutions, transposed convolutions
    and linear layers, plus the `matmul_flops(x)` of any module that defines it (attention's
    q·kᵀ and softmax·v). Elementwise work (norms, activations) is not counted."""
    total = 0

    def hook(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> None:
        nonlocal total
        x = args[0]
        if isinstance(module, nn.ConvTranspose2d):
            kh, kw = module.kernel_size
            total += 2 * x.numel() * module.out_channels // module.groups * kh * kw
        elif isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += 2 * output.numel() * module.in_channels // module.groups * kh * kw
        elif isinstance(module, nn.Linear):
            total += 2 * output.numel() * module.in_features
        if hasattr(module, "matmul_flops"):
            total += int(module.matmul_flops(x))

    was_training = model.training
    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model.eval()  # leave batch-norm running statistics untouched
            model(*inputs)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total


# ───────────────────────────── output ─────────────────────────────


def emit(
    args: argparse.Namespace,
    env: dict[str, Any],
    work: str,
    all_ms: list[float],
    params: dict[str, Any],
    **extra: Any,
) -> None:
    """The result: one JSON line on stdout with --json, else a readable summary on stdout."""
    result: dict[str, Any] = {
        "work": work,
        "median_ms": round(median(all_ms), 3),
        "all_ms": [round(ms, 3) for ms in all_ms],
        **env,
        "params": {
            "batch": args.batch,
            "seed": args.seed,
            "repeats": args.repeats,
            "warmup": args.warmup,
            **params,
        },
        **extra,
    }
    if args.json:
        print(json.dumps(result), flush=True)
        return
    print(f"{work}: median {result['median_ms']:.1f} ms over {args.repeats} repeats")
    for key, value in result.items():
        if key not in ("work", "median_ms"):
            print(f"  {key}: {value}")
