"""Forward + backward time of our Conv2D and Pool2D against PyTorch on the CPU.

    .venv/bin/python benchmarks/conv.py [--repeats 10] [--threads N] [--isa avx2]

Same shapes, float32, the same number of threads for NumPy's BLAS and torch. Prints
the median time of each and the ratio ours / PyTorch's faster layout (NCHW or
channels_last); issue 22's goals: Conv2D <= 1.5, Pool2D <= 2. The last case is the
homework CNN's first pooling, after a ReLU (half its inputs 0, so most windows of
zeros are ties).
"""

from __future__ import annotations

import argparse
import os

from timing import ISA, machine, time_it, use_threads


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--isa", choices=sorted(ISA), default="native", help="hold PyTorch to this instruction set")
    args = p.parse_args()
    os.environ.update(ISA[args.isa])  # read when torch is first imported
    use_threads(args.threads)
    import numpy as np
    import torch
    import torch.nn.functional as F

    from backproplab.nn.layers import Conv2D, Pool2D

    cases = [
        ("Conv2D 3x3, 28x28x16 -> 32", (64, 28, 28, 16), lambda: Conv2D(32, (3, 3), activation="linear", pad="same"),
         lambda x, w: F.conv2d(x, w, padding=1), (32, 16, 3, 3)),
        ("Conv2D 3x3, 32x32x64 -> 64", (64, 32, 32, 64), lambda: Conv2D(64, (3, 3), activation="linear", pad="same"),
         lambda x, w: F.conv2d(x, w, padding=1), (64, 64, 3, 3)),
        ("Pool2D max 2x2, 28x28x32", (64, 28, 28, 32), lambda: Pool2D((2, 2), "max"),
         lambda x, w: F.max_pool2d(x, 2), None),
        ("Pool2D average 2x2, 32x32x64", (64, 32, 32, 64), lambda: Pool2D((2, 2), "average"),
         lambda x, w: F.avg_pool2d(x, 2), None),
        ("Pool2D max 2x2 after a ReLU, batch 128, 28x28x16", (128, 28, 28, 16), lambda: Pool2D((2, 2), "max"),
         lambda x, w: F.max_pool2d(x, 2), None),
    ]
    print(f"{machine()}; numpy {np.__version__} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    print("| case (batch 64 unless named, float32, forward+backward) | ours (ms) | PyTorch NCHW (ms) | "
          "PyTorch channels_last (ms) | ratio ours / faster PyTorch |")
    print("|---|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for name, shape, make_ours, theirs, wshape in cases:
        X = rng.standard_normal(shape, dtype=np.float32)
        if "ReLU" in name:
            X = np.maximum(X, 0)
        layer = make_ours()
        layer.rng = np.random.default_rng(0)
        Y = layer.forward(X)
        dY = np.ones_like(Y)

        def ours():
            layer.forward(X)
            layer.backward(dY)

        t_ours = time_it(ours, args.repeats)
        t_torch = {}
        for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
            x = torch.from_numpy(X).permute(0, 3, 1, 2).contiguous(memory_format=fmt).requires_grad_(True)
            w = torch.randn(wshape).contiguous(memory_format=fmt).requires_grad_(True) if wshape else None
            gy = torch.ones_like(theirs(x, w))

            def torch_step():
                x.grad = None
                if w is not None:
                    w.grad = None
                theirs(x, w).backward(gy)

            t_torch[layout] = time_it(torch_step, args.repeats)
        best = min(t_torch.values())  # the ratio is against torch's faster layout
        print(f"| {name} | {t_ours * 1e3:.1f} | {t_torch['NCHW'] * 1e3:.1f} | {t_torch['NHWC'] * 1e3:.1f} | "
              f"{t_ours / best:.2f} |")


if __name__ == "__main__":
    main()
