"""How close a CIFAR-10 training step comes to what the cores can do: achieved GFLOP/s of
one step (forward + backward + update) of each profile's network, in float32 and under
bfloat16 autocast, beside the machine's matrix-product GFLOP/s in each (the practical
limits), all measured here and now.

    .venv/bin/python benchmarks/cifar_step.py [--isa avx2] [--repeats 10]

FLOPs of a step = 3 × the forward pass's (the backward pass costs about twice the
forward), counted from the convolutions and the linear layer of a batch.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys

from timing import ISA, machine, sgemm_gflops, time_it


def measure(repeats: int) -> None:
    import torch
    import torch.nn.functional as F

    from backproplab import settings
    from backproplab.engines import precision
    from backproplab.pipelines import cifar_net
    from backproplab.pipelines.cifar import CifarConfig

    torch.set_num_threads(os.cpu_count())
    print(machine())
    native, why = precision.choose("auto", torch.device("cpu"))
    if native != "bf16":  # emulated bfloat16 would take minutes a step: measured as auto would run, in float32
        print(f"# no native bfloat16 here ({why}): --precision auto trains in float32; bf16 not measured")
    limit = {"fp32": sgemm_gflops(), "bf16": sgemm_gflops(dtype=torch.bfloat16) if native == "bf16" else math.nan}
    print(f"# matrix-product limits, 4096 x 4096 (the faster of matmul and a 1x1 convolution): float32 "
          f"{limit['fp32']:.0f} GFLOP/s, bfloat16 {limit['bf16']:.0f} GFLOP/s; fp32 and bf16 steps alternated, "
          f"the faster of two medians of {repeats}")
    print("| profile | widths, whitening stride | batch | GFLOP per step | fp32 ms per step | fp32 share of its limit "
          "| "
          "bf16 ms per step | bf16 share of its limit | bf16 / fp32 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for profile in ("sprint", "cpu", "cpu-medium", "cpu-long"):
        c = settings.resolve(CifarConfig(profile=profile))
        model = cifar_net.build_model(c.widths, c.convs_per_block, c.whiten_kernel, c.whiten_stride, c.activation,
                                      c.scale, c.bn_momentum)
        flops = 3 * cifar_net.flops_per_image(model) * c.batch_size
        model = model.to(memory_format=torch.channels_last)
        opt = cifar_net.optimizer(model, c.lr, c.momentum, c.weight_decay, c.bias_lr_scale, c.whiten_bias_epochs)
        x = torch.randn(c.batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (c.batch_size,))

        def step(bf16: bool) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # as --precision bf16 trains
                loss = F.cross_entropy(model(x), y, label_smoothing=c.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        ms = {"fp32": [], "bf16": []} if native == "bf16" else {"fp32": []}
        for _ in range(2):
            for q in ms:
                ms[q].append(1000 * time_it(lambda: step(q == "bf16"), repeats))
        fp32, bf16 = min(ms["fp32"]), min(ms.get("bf16", [math.nan]))
        share = {q: flops / (min(v) / 1000) / 1e9 / limit[q] for q, v in ms.items()} | ({} if "bf16" in ms else
                                                                                       {"bf16": math.nan})
        bf16_cells = ["—"] * 3 if math.isnan(bf16) else [f"{bf16:.0f}", f"{share['bf16']:.0%}", f"{bf16 / fp32:.2f}"]
        cells = [f"{fp32:.0f}", f"{share['fp32']:.0%}", *bf16_cells]
        print(f"| {profile} | {','.join(map(str, c.widths))}, {c.whiten_stride} | {c.batch_size} | {flops / 1e9:.1f} | "
              + " | ".join(cells) + " |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--isa", choices=sorted(ISA), default="native")
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    if os.environ.get("_BACKPROPLAB_CHILD"):
        measure(args.repeats)
        return
    env = {**os.environ, **ISA[args.isa], "_BACKPROPLAB_CHILD": "1"}  # the ISA must be set before torch loads
    sys.exit(subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats)], env=env).returncode)


if __name__ == "__main__":
    main()
