"""How close a CIFAR-10 training step comes to what the cores can do: achieved GFLOP/s of
one step (forward + backward + update) of each profile's network, beside the machine's
float32 matrix-product GFLOP/s (the practical limit), both measured here and now.

    .venv/bin/python benchmarks/cifar_step.py [--isa avx2] [--repeats 10]

FLOPs of a step = 3 × the forward pass's (the backward pass costs about twice the
forward), counted from the convolutions and the linear layer of a batch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from timing import ISA, machine, sgemm_gflops, time_it


def measure(repeats: int) -> None:
    import torch
    import torch.nn.functional as F

    from backproplab import settings
    from backproplab.pipelines import cifar_net
    from backproplab.pipelines.cifar import CifarConfig

    torch.set_num_threads(os.cpu_count())
    print(machine())
    limit = sgemm_gflops()
    print(f"# float32 matrix product, 4096 x 4096 (the faster of matmul and a 1x1 convolution): {limit:.0f} GFLOP/s")
    print("| profile | widths, whitening stride | batch | ms per step | images/s | GFLOP per step | GFLOP/s | "
          "share of the matrix-product limit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for profile in ("sprint", "cpu", "cpu-medium", "cpu-long"):
        c = settings.resolve(CifarConfig(profile=profile))
        model = cifar_net.build_model(c.widths, c.convs_per_block, c.whiten_kernel, c.whiten_stride, c.activation,
                                      c.scale, c.bn_momentum)
        flops = 3 * cifar_net.flops_per_image(model) * c.batch_size
        model = model.to(memory_format=torch.channels_last)
        opt = cifar_net.optimizer(model, c.lr, c.momentum, c.weight_decay, c.bias_lr_scale, c.whiten_bias_epochs)
        x = torch.randn(c.batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (c.batch_size,))

        def step():
            loss = F.cross_entropy(model(x), y, label_smoothing=c.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        seconds = time_it(step, repeats)
        print(f"| {profile} | {','.join(map(str, c.widths))}, {c.whiten_stride} | {c.batch_size} | "
              f"{1000 * seconds:.0f} | {c.batch_size / seconds:.0f} | {flops / 1e9:.1f} | {flops / seconds / 1e9:.0f} | "
              f"{flops / seconds / 1e9 / limit:.0%} |", flush=True)


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
