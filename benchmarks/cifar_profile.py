"""Where a CIFAR-10 training step's time goes: each profile's step (augmentation, forward,
backward, SGD with Lookahead, as ``TorchTrainer`` runs it) under ``torch.profiler``, self
time by operator, and the two figures that carry to other CPUs:

(a) the convolutions' own rate: their FLOPs (forward; backward to the input except for
    the first layer, whose input needs no gradient; to the weights where they train)
    over their own time, as a share of the machine's float32 matrix-product limit;
(b) the share of the step spent outside convolutions and matrix products (normalisation,
    activations, pooling, the optimizer, augmentation, zero-fills, copies).

    .venv/bin/python benchmarks/cifar_profile.py [--isa avx2] [--precision bf16] [--profiles sprint cpu]

With ``--precision bf16`` the forward pass and the loss run under bfloat16 autocast, as a
run with ``--precision bf16`` trains, and the limit is the bfloat16 one.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import subprocess
import sys

from timing import ISA, machine, sgemm_gflops, time_it

#: operators whose self time is the convolutions' own (oneDNN forward and backward kernels)
CONV_OPS = ("convolution", "conv2d", "mkldnn_conv")
#: the training split of a run (50,000 images less the 5,000 held out for validation)
TRAIN_IMAGES = 45_000
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear")


def taps(size: int, kernel: int, stride: int, pad: int, out: int) -> int:
    """Kernel taps that land inside the input, summed over the outputs of one axis."""
    return sum(0 <= stride * y + i - pad < size for y in range(out) for i in range(kernel))


def conv_flops(model, batch: int) -> tuple[int, int]:
    """(FLOPs of a step's convolutions, FLOPs of its matrix products) for a batch: every
    convolution's forward, its backward to the input where something before it trains
    (not the first; the second only while the whitening bias trains), and to its weights
    where they train. Only multiply-adds with a real input count: on a 2×2 map a 3×3
    kernel finds 4 of its 9 taps inside, and the kernels need not multiply the padding."""
    import torch
    import torch.nn as nn

    convs, linear = 0, 0
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o: shapes.__setitem__(mod, (i[0].shape, o.shape)))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, 3, 32, 32).contiguous(memory_format=torch.channels_last))
        model.train()
    for h in hooks:
        h.remove()
    upstream_trains = False
    for m, (inp, shape) in shapes.items():  # in forward order
        if isinstance(m, nn.Conv2d):
            pads = [(k - 1) // 2 for k in m.kernel_size] if m.padding == "same" else m.padding
            positions = math.prod(taps(inp[2 + a], m.kernel_size[a], m.stride[a], pads[a], shape[2 + a])
                                  for a in (0, 1))
            forward = 2 * batch * shape[1] * positions * m.in_channels // m.groups
            convs += forward * (1 + upstream_trains + m.weight.requires_grad)
            upstream_trains = upstream_trains or any(p.requires_grad for p in m.parameters())
        else:
            linear += 3 * 2 * batch * m.in_features * m.out_features
    return convs, linear


def make_step(profile: str, frozen_bias: bool = False, precision: str = "fp32"):
    """The profile's network, optimizer and one training step on random images (with the
    whitening bias training, as in the first epochs, or frozen, as after them)."""
    import torch
    import torch.nn.functional as F

    from backproplab import settings
    from backproplab.pipelines import cifar_net
    from backproplab.pipelines.cifar import CifarConfig

    c = settings.resolve(CifarConfig(profile=profile))
    torch.manual_seed(0)
    model = cifar_net.build_model(c.widths, c.convs_per_block, c.whiten_kernel, c.whiten_stride, c.activation,
                                  c.scale, c.bn_momentum).to(memory_format=torch.channels_last)
    n = 4 * c.batch_size
    images = torch.randn(n, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (n,))
    flips = cifar_net.flip_mask(n, 0)
    opt = cifar_net.optimizer(model, c.lr, c.momentum, c.weight_decay, c.bias_lr_scale, c.whiten_bias_epochs)
    opt = cifar_net.Lookahead(opt, model, total_steps=1000, start_step=0)
    model[0].bias.requires_grad_(not frozen_bias)
    state = {"i": 0}

    def step():
        idx = torch.randint(0, n, (c.batch_size,))
        x = cifar_net.augment(images[idx], idx, state["i"], c.crop_padding, flips)
        state["i"] += 1
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(model(x), labels[idx], label_smoothing=c.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return c, model, step


def time_phase(profile: str, frozen_bias: bool, steps: int, precision: str) -> dict:
    """One phase's wall time per step, self time by operator, and FLOPs."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    c, model, step = make_step(profile, frozen_bias, precision)
    conv_f, mm_f = conv_flops(model, c.batch_size)
    for _ in range(2):
        step()
    wall = time_it(step, steps)  # the median step
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step()
    self_us = collections.Counter()
    for e in prof.key_averages():
        self_us[e.key] += e.self_cpu_time_total
    total = sum(self_us.values())
    return {"c": c, "wall": wall, "conv_flops": conv_f, "mm_flops": mm_f,
            "share": {k: v / total for k, v in self_us.items()}}


def profile_step(profile: str, limit: float, steps: int, top: int, precision: str) -> dict:
    """Both phases, weighted by the epochs each lasts in the profile's run."""
    trained, frozen = time_phase(profile, False, steps, precision), time_phase(profile, True, steps, precision)
    c = trained["c"]
    w = min(c.whiten_bias_epochs, c.epochs) / c.epochs  # share of the steps with the bias training
    phases = ((trained, w), (frozen, 1 - w))
    wall = sum(p["wall"] * k for p, k in phases)
    conv_f = sum(p["conv_flops"] * k for p, k in phases)
    mm_f = sum(p["mm_flops"] * k for p, k in phases)
    share = collections.Counter()
    for p, k in phases:
        for op, v in p["share"].items():
            share[op] += v * p["wall"] * k / wall
    conv = sum(v for k, v in share.items() if any(s in k for s in CONV_OPS))
    mm = sum(v for k, v in share.items() if k in MATMUL_OPS)
    steps = math.ceil(TRAIN_IMAGES / c.batch_size) * c.epochs
    return {"profile": profile, "ms": 1000 * wall, "train_tflop": steps * (conv_f + mm_f) / 1e12,
            "train_seconds": steps * wall, "ms_phases": (1000 * trained["wall"], 1000 * frozen["wall"]),
            "step_share": (conv_f + mm_f) / wall / 1e9 / limit, "conv_share_of_step": conv,
            "conv_rate": conv_f / (wall * conv) / 1e9, "conv_share_of_limit": conv_f / (wall * conv) / 1e9 / limit,
            "outside": 1 - conv - mm, "top": share.most_common(top)}


def measure(profiles: list[str], steps: int, top: int, rounds: int, precision: str) -> None:
    import torch

    torch.set_num_threads(os.cpu_count())
    print(machine())
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    limit = max(sgemm_gflops(dtype=dtype) for _ in range(rounds))  # the fastest of as many tries
    print(f"# {precision}: {str(dtype)[6:]} matrix-product limit: {limit:.0f} GFLOP/s; per phase the median of "
          f"{steps} timed steps after 2 warm-up, self times from 5 profiled steps; the fastest of {rounds} rounds")
    rows = [min((profile_step(p, limit, steps, top, precision) for _ in range(rounds)), key=lambda r: r["ms"])
            for p in profiles]
    print("\n| profile | ms per step (bias training / frozen) | step: share of the limit | convolutions: share of the "
          "step | (a) convolutions' own GFLOP/s | (a) share of the limit | (b) outside conv and matmul | training "
          "TFLOP | training steps alone (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['profile']} | {r['ms']:.0f} ({r['ms_phases'][0]:.0f} / {r['ms_phases'][1]:.0f}) | "
              f"{r['step_share']:.0%} | {r['conv_share_of_step']:.0%} | {r['conv_rate']:.0f} | "
              f"{r['conv_share_of_limit']:.0%} | {r['outside']:.1%} | {r['train_tflop']:.2f} | "
              f"{r['train_seconds']:.0f} |")
    for r in rows:
        print(f"\n{r['profile']}: " + ", ".join(f"{k} {v:.1%}" for k, v in r["top"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--isa", choices=sorted(ISA), default="native")
    p.add_argument("--profiles", nargs="+", default=["sprint", "cpu", "cpu-medium", "cpu-long"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3, help="measure each profile this many times, keep the fastest")
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = p.parse_args()
    if os.environ.get("_BACKPROPLAB_CHILD"):
        measure(args.profiles, args.steps, args.top, args.rounds, args.precision)
        return
    env = {**os.environ, **ISA[args.isa], "_BACKPROPLAB_CHILD": "1"}  # the ISA must be set before torch loads
    sys.exit(subprocess.run([sys.executable, __file__, "--profiles", *args.profiles, "--steps", str(args.steps),
                             "--top", str(args.top), "--rounds", str(args.rounds), "--precision", args.precision],
                            env=env).returncode)


if __name__ == "__main__":
    main()
