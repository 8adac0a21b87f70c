"""What the runtime can give a CIFAR-10 training step on the CPU: memory format, batch
size, threads, and torch.compile (its compile time counted), for one profile's network.

    .venv/bin/python benchmarks/cifar_runtime.py [--profile cpu] [--isa avx2] [--repeats 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from timing import ISA, machine, time_it


def step_fn(c, channels_last: bool, batch: int, compiled: bool):
    import torch
    import torch.nn.functional as F

    from backproplab.pipelines import cifar_net

    model = cifar_net.build_model(c.widths, c.convs_per_block, c.whiten_kernel, c.whiten_stride, c.activation,
                                  c.scale, c.bn_momentum)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = cifar_net.optimizer(model, c.lr, c.momentum, c.weight_decay, c.bias_lr_scale, c.whiten_bias_epochs)
    net = torch.compile(model) if compiled else model
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,))

    def step():
        loss = F.cross_entropy(net(x), y, label_smoothing=c.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def measure(profile: str, repeats: int) -> None:
    import torch

    from backproplab import settings
    from backproplab.pipelines.cifar import CifarConfig

    c = settings.resolve(CifarConfig(profile=profile))
    cores = os.cpu_count()
    torch.set_num_threads(cores)
    print(machine())
    print(f"| {profile} profile: one training step | ms per step | images/s | relative to the profile's setting |")
    print("|---|---:|---:|---:|")
    rows = [("channels_last, batch %d, %d threads (the profile)" % (c.batch_size, cores), True, c.batch_size, cores),
            ("NCHW (contiguous)", False, c.batch_size, cores),
            ("batch 256", True, 256, cores), ("batch 1024", True, 1024, cores), ("1 thread", True, c.batch_size, 1)]
    base = None
    for name, cl, batch, threads in rows:
        torch.set_num_threads(threads)
        seconds = time_it(step_fn(c, cl, batch, False), repeats)
        per_image = seconds / batch
        base = base or per_image
        print(f"| {name} | {1000 * seconds:.0f} | {batch / seconds:.0f} | {per_image / base:.2f} |", flush=True)
    torch.set_num_threads(cores)
    step = step_fn(c, True, c.batch_size, True)
    start = time.perf_counter()
    try:
        step()
        compile_seconds = time.perf_counter() - start
        seconds = time_it(step, repeats)
        print(f"| torch.compile (first step, compiling: {compile_seconds:.0f} s) | {1000 * seconds:.0f} | "
              f"{c.batch_size / seconds:.0f} | {seconds / c.batch_size / base:.2f} |")
    except Exception as err:  # no C++ compiler, or an unsupported operation
        print(f"| torch.compile | failed: {type(err).__name__}: {str(err).splitlines()[0][:80]} | | |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--isa", choices=sorted(ISA), default="native")
    p.add_argument("--repeats", type=int, default=8)
    args = p.parse_args()
    if os.environ.get("_BACKPROPLAB_CHILD"):
        measure(args.profile, args.repeats)
        return
    env = {**os.environ, **ISA[args.isa], "_BACKPROPLAB_CHILD": "1"}
    sys.exit(subprocess.run([sys.executable, __file__, "--profile", args.profile, "--repeats", str(args.repeats)],
                            env=env).returncode)


if __name__ == "__main__":
    main()
