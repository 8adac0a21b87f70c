"""2-D max and average pooling, NHWC layout (derivation: ``docs/derivations.md``,
"Pooling").

Each output is taken over a (kh, kw) window of the padded input, per channel:

    max:      Y[n, y, x, c] = max_{i, j} X_pad[n, sh·y + i, sw·x + j, c]
    average:  Y[n, y, x, c] = (1 / (kh·kw)) Σ_{i, j} X_pad[n, sh·y + i, sw·x + j, c]

Choices, the same as PyTorch's defaults so that the tests can compare exactly:

- Padding: max pooling pads with −∞ (a pad never wins); average pooling pads with
  zeros that *count* in the average (the divisor is always kh·kw, torch's
  ``count_include_pad=True``). Padding may be at most half the kernel on each axis,
  so every window holds at least one real input.
- Ties in a max: the whole gradient goes to the first maximal element of the window
  in row-major (i, then j) order, the element torch picks. It is one valid
  subgradient; the finite-difference derivative does not exist at a tie.

Backward: max pooling routes dY[n, y, x, c] to the arg-max of its window; average
pooling spreads it evenly, dY / (kh·kw), over the window. Overlapping windows (stride
smaller than the kernel) add up.
"""

from __future__ import annotations

import numpy as np

from .base import Layer
from .im2col import output_shape, pad_input, pair, unpad, window_slice


class Pool2D(Layer):
    def __init__(self, kernel_shape=(2, 2), mode: str = "max", stride=None, pad=0) -> None:
        super().__init__()
        if mode not in ("max", "average"):
            raise ValueError(f'Pool2D mode must be "max" or "average"; got {mode!r}')
        self.mode = mode
        self.kernel_shape = pair(kernel_shape, "Pool2D kernel_shape", 1)
        self.stride = self.kernel_shape if stride is None else pair(stride, "Pool2D stride", 1)
        ph, pw = pair(pad, "Pool2D pad", 0)
        if ph > self.kernel_shape[0] // 2 or pw > self.kernel_shape[1] // 2:
            raise ValueError(
                f"Pool2D pad {(ph, pw)} must be at most half the kernel {self.kernel_shape} on each "
                "axis (a window of padding alone has nothing to pool)"
            )
        self.pads = ((ph, ph), (pw, pw))

    def describe(self) -> str:
        (kh, kw), (sh, sw) = self.kernel_shape, self.stride
        return f"{self.mode} {kh}x{kw}, stride {sh}x{sw}"

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X, 4, "(batch, height, width, channels)")
        out_hw = output_shape(X.shape[1:3], self.kernel_shape, self.pads, self.stride, "Pool2D")
        X_pad = pad_input(X, self.pads, value=-np.inf if self.mode == "max" else 0.0)
        kh, kw = self.kernel_shape
        combine = np.maximum if self.mode == "max" else np.add
        tiles = self._tiles(X_pad, out_hw)
        self.cache = {"X_pad": X_pad, "out_hw": out_hw}
        if tiles is not None and self.mode == "max" and self.training:  # with where each maximum lies
            Y = self._max_tiles(tiles)
        elif tiles is not None:  # rows of a window first (whole image rows), then its columns
            rows = fold(combine, [tiles[:, :, i] for i in range(kh)])  # (N, Ho, Wo, kw, C)
            Y = fold(combine, [rows[:, :, :, j] for j in range(kw)])
        else:
            Y = fold(combine, [X_pad[window_slice(i, j, out_hw, self.stride)] for i in range(kh) for j in range(kw)])
        if self.mode == "average":
            Y /= kh * kw
        self.cache["Y"] = Y
        return Y

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        X_pad, Y, out_hw = self._from_cache("X_pad", "Y", "out_hw")
        if dLdY.shape != Y.shape:
            raise ValueError(f"Pool2D.backward expects dLdY of shape {Y.shape}; got {dLdY.shape}")
        kh, kw = self.kernel_shape
        tiles = self._tiles(X_pad, out_hw)
        if tiles is not None and (self.mode == "average" or "arg" in self.cache):  # (no arg after an eval forward)
            return unpad(self._backward_tiles(tiles, Y, dLdY).reshape(X_pad.shape), self.pads)
        dX_pad = np.zeros_like(X_pad)
        if self.mode == "max":
            unrouted = np.ones(Y.shape, dtype=bool)  # windows whose arg-max is not found yet
            for i in range(kh):
                for j in range(kw):
                    idx = window_slice(i, j, out_hw, self.stride)
                    hit = (X_pad[idx] == Y) & unrouted
                    dX_pad[idx] += dLdY * hit
                    unrouted &= ~hit
        else:
            share = dLdY / (kh * kw)
            for i in range(kh):
                for j in range(kw):
                    dX_pad[window_slice(i, j, out_hw, self.stride)] += share
        return unpad(dX_pad, self.pads)

    def _tiles(self, X_pad: np.ndarray, out_hw) -> np.ndarray | None:
        """X_pad viewed as (N, Ho, kh, Wo, kw, C), window (y, x) being [:, y, :, x, :, :],
        when the windows tile it exactly (stride = kernel, nothing left over); else None."""
        (kh, kw), (Ho, Wo) = self.kernel_shape, out_hw
        N, Hp, Wp, C = X_pad.shape
        if self.stride != self.kernel_shape or (Hp, Wp) != (Ho * kh, Wo * kw) or not X_pad.flags.c_contiguous:
            return None
        return X_pad.reshape(N, Ho, kh, Wo, kw, C)

    def _max_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """Max pooling of tiling windows (N, Ho, kh, Wo, kw, C), keeping in ``arg`` (N, Ho, Wo, C) the row-major
        index i·kw + j of each window's first maximal element (the one torch picks).

        The rows of a window first, whole image rows at a time: each window column j gets
        its maximum and the first row i_j that holds it. Then the columns, left to right: a
        column takes over when its maximum is larger, or equal and at a smaller index
        i_j·kw + j (an earlier row; within a row, the leftmost column came first)."""
        kh, kw = self.kernel_shape
        col_max, row_of = first_max([tiles[:, :, i] for i in range(kh)])  # (N, Ho, Wo, kw, C) each
        index = row_of.astype(np.min_scalar_type(kh * kw - 1)) * kw  # i_j·kw, then + j below
        Y, arg = col_max[:, :, :, 0].copy(), index[:, :, :, 0].copy()  # (N, Ho, Wo, C) each
        for j in range(1, kw):
            m_j, k_j = col_max[:, :, :, j], index[:, :, :, j] + j
            takes_over = (m_j > Y) | ((m_j == Y) & (k_j < arg))
            np.maximum(Y, m_j, out=Y)
            arg ^= (arg ^ k_j) * takes_over  # arg = k_j where the column takes over (np.where is slower)
        self.cache["arg"] = arg
        return Y

    def _backward_tiles(self, tiles: np.ndarray, Y: np.ndarray, dLdY: np.ndarray) -> np.ndarray:
        """The input gradient as tiles (N, Ho, kh, Wo, kw, C), each written once (no zeros
        first): max pooling routes dY to the element at index arg = i·kw + j."""
        kh, kw = self.kernel_shape
        dX = np.empty(tiles.shape, dtype=tiles.dtype)
        if self.mode == "average":
            np.copyto(dX, (dLdY / (kh * kw))[:, :, None, :, None, :])
            return dX
        (arg,) = self._from_cache("arg")
        chosen = np.empty(Y.shape, dtype=bool)
        for i in range(kh):
            for j in range(kw):
                np.multiply(dLdY, np.equal(arg, i * kw + j, out=chosen), out=dX[:, :, i, :, j])
        return dX


def first_max(slabs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(M, arg): the elementwise maximum M of slabs a₀ … aₙ (a new array) and the index
    of the first slab that holds it (arg only grows, since k does: arg = max(arg, k·[aₖ > M]))."""
    M = slabs[0].copy()
    arg = np.zeros(M.shape, dtype=np.min_scalar_type(len(slabs) - 1))
    above = np.empty(M.shape, dtype=bool)
    for k, a in enumerate(slabs[1:], start=1):
        np.greater(a, M, out=above)
        np.maximum(M, a, out=M)
        np.maximum(arg, above * arg.dtype.type(k), out=arg)
    return M, arg


def fold(combine, arrays: list[np.ndarray]) -> np.ndarray:
    """combine(… combine(a₀, a₁) …, aₙ) in a new array of its own (a copy of a₀ alone)."""
    out = combine(arrays[0], arrays[1]) if len(arrays) > 1 else arrays[0].copy()
    for a in arrays[2:]:
        combine(out, a, out=out)
    return out
