"""Geometry of 2-D windows (NHWC): padding, output sizes, im2col and col2im.

A window layer slides a (kh, kw) kernel over a padded input X_pad (N, Hp, Wp, C) with
stride (sh, sw). Output position (y, x) sees the input rows sh·y + i and columns
sw·x + j for kernel offsets 0 ≤ i < kh, 0 ≤ j < kw, so

    Ho = ⌊(H + p_top + p_bottom − kh) / sh⌋ + 1,   Wo likewise.

``im2col`` lays every window out as one row: cols[n, y, x, i, j, c] = X_pad[n, sh·y+i,
sw·x+j, c], which turns a convolution into one matrix product. Its adjoint, col2im,
adds each window's gradient back where the window came from; ``col2im_product`` does
that fused with the product that makes those gradients, looping over the kh·kw kernel
offsets only (each step one matrix product and one strided slice of the whole batch).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pads = tuple[tuple[int, int], tuple[int, int]]


def pair(value, what: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints → (rows, columns), each checked to be >= minimum."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{what} must be an int or a pair of ints; got {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{what} must be >= {minimum}; got {tuple(value)}")
    return int(value[0]), int(value[1])


def padding(pad, kernel_shape: tuple[int, int]) -> Pads:
    """((top, bottom), (left, right)) for pad = "same", "valid", an int or an int pair.

    "same" pads k − 1 in total along each axis, the odd one on the bottom/right
    (TensorFlow's convention), so a stride-1 output has the input's size for odd and
    even kernels alike; for odd k it is the symmetric (k − 1)/2.
    """
    if isinstance(pad, str):
        if pad == "valid":
            return (0, 0), (0, 0)
        if pad == "same":
            return tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel_shape)  # type: ignore[return-value]
        raise ValueError(f'pad must be "same", "valid" or a non-negative int; got {pad!r}')
    ph, pw = pair(pad, "pad", 0)
    return (ph, ph), (pw, pw)


def output_shape(
    in_hw: tuple[int, int], kernel_shape: tuple[int, int], pads: Pads, stride: tuple[int, int], layer: str
) -> tuple[int, int]:
    """(Ho, Wo); raises ValueError if the kernel does not fit in the padded input."""
    out = []
    for size, k, (p0, p1), s, axis in zip(in_hw, kernel_shape, pads, stride, ("height", "width")):
        padded = size + p0 + p1
        if k > padded:
            raise ValueError(
                f"{layer}: the kernel {axis} {k} is larger than the padded input {axis} "
                f"{padded} ({size} + padding {p0}+{p1}); use a smaller kernel or more padding"
            )
        out.append((padded - k) // s + 1)
    return out[0], out[1]


def pad_input(X: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """X (N, H, W, C) → X_pad (N, H + p_top + p_bottom, W + p_left + p_right, C)."""
    if pads == ((0, 0), (0, 0)):
        return X
    return np.pad(X, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def window_slice(i: int, j: int, out_hw: tuple[int, int], stride: tuple[int, int]):
    """The index of X_pad that kernel offset (i, j) sees at every output position."""
    (Ho, Wo), (sh, sw) = out_hw, stride
    return (slice(None), slice(i, i + sh * (Ho - 1) + 1, sh), slice(j, j + sw * (Wo - 1) + 1, sw))


#: below this many input channels, im2col lays the windows out offset by offset (see im2col)
FEW_CHANNELS = 4


def im2col(X_pad: np.ndarray, kernel_shape, out_hw, stride) -> np.ndarray:
    """X_pad (N, Hp, Wp, C) → cols (N, Ho, Wo, kh, kw, C), every window's elements in one
    copy, so that ``cols.reshape(N·Ho·Wo, kh·kw·C)`` is the im2col matrix without another.

    A strided view holds every window without copying; one copy lays them out as rows.
    With few channels (an image's 1 or 3) a row is kh·kw·C scattered elements, and that
    copy moves them one by one; then the copy is made per kernel offset (i, j) instead, each
    a block of whole image rows, into memory ordered (kh, kw, C, N, Ho, Wo) — the matrix's
    transpose, which the matrix products take as it is.
    """
    (sh, sw), (Ho, Wo) = stride, out_hw
    (kh, kw), C = kernel_shape, X_pad.shape[3]
    if C < FEW_CHANNELS:
        cols_T = np.empty((kh, kw, C, X_pad.shape[0], Ho, Wo), dtype=X_pad.dtype)
        for i in range(kh):
            for j in range(kw):
                cols_T[i, j] = X_pad[window_slice(i, j, out_hw, stride)].transpose(3, 0, 1, 2)
        return cols_T.transpose(3, 4, 5, 0, 1, 2)
    windows = sliding_window_view(X_pad, kernel_shape, axis=(1, 2))  # (N, Hp-kh+1, Wp-kw+1, C, kh, kw)
    windows = windows[:, : sh * (Ho - 1) + 1 : sh, : sw * (Wo - 1) + 1 : sw]
    return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))


def col2im_product(dZ: np.ndarray, W: np.ndarray, padded_shape, stride) -> np.ndarray:
    """dX_pad = col2im(dZ₂ W₂ᵀ) without materialising dcols.

    dZ (N, Ho, Wo, F), W (kh, kw, C, F) → dX_pad (N, Hp, Wp, C). The block of dcols for
    kernel offset (i, j) is dZ₂ W[i, j]ᵀ, (N·Ho·Wo, C); it is added where the windows
    read at that offset, so overlapping windows sum, as the input gradient requires.
    """
    N, Ho, Wo, F = dZ.shape
    kh, kw, C, _ = W.shape
    dZ2 = dZ.reshape(-1, F)
    dX_pad = np.zeros(padded_shape, dtype=dZ.dtype)
    for i in range(kh):
        for j in range(kw):
            dX_pad[window_slice(i, j, (Ho, Wo), stride)] += (dZ2 @ W[i, j].T).reshape(N, Ho, Wo, C)
    return dX_pad


def unpad(X_pad: np.ndarray, pads: Pads) -> np.ndarray:
    """Crop the padding off again: the inverse of ``pad_input`` for gradients."""
    (t, b), (l, r) = pads
    return X_pad[:, t : X_pad.shape[1] - b, l : X_pad.shape[2] - r, :]
