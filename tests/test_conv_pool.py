"""Conv2D, Pool2D and Flatten against torch.nn.functional (float64, 1e-10) and finite
differences, on configurations drawn by hypothesis; plus the bad configurations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backproplab.nn.gradcheck import check_gradients
from backproplab.nn.layers import Conv2D, Flatten, Pool2D
from backproplab.nn.layers.im2col import padding
from conftest import assert_close

ACT = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh}


@st.composite
def conv_configs(draw, max_batch=8, max_channels=8, max_size=17):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    pad = draw(st.sampled_from(["same", "valid", 0, 1, 2]))
    pads = padding(pad, (kh, kw))
    H = draw(st.integers(max(1, kh - sum(pads[0])), max_size))
    W = draw(st.integers(max(1, kw - sum(pads[1])), max_size))
    return dict(N=draw(st.integers(1, max_batch)), H=H, W=W, C=draw(st.integers(1, max_channels)),
                F=draw(st.integers(1, max_channels)), kernel=(kh, kw), stride=draw(st.integers(1, 3)),
                pad=pad, activation=draw(st.sampled_from(list(ACT))), seed=draw(st.integers(0, 2**32 - 1)))


def torch_conv(X, Wk, b, cfg):
    """The same layer in torch: NHWC → NCHW, explicit (possibly asymmetric) zero padding."""
    (t, bo), (l, r) = padding(cfg["pad"], cfg["kernel"])
    x = torch.tensor(X, requires_grad=True)
    w = torch.tensor(Wk, requires_grad=True)
    bias = torch.tensor(b, requires_grad=True)
    xp = F.pad(x.permute(0, 3, 1, 2), (l, r, t, bo))
    z = F.conv2d(xp.contiguous(), w.permute(3, 2, 0, 1).contiguous(), bias.reshape(-1), stride=cfg["stride"])
    return x, w, bias, ACT[cfg["activation"]](z).permute(0, 2, 3, 1)


@settings(max_examples=150)
@given(cfg=conv_configs())
def test_conv2d_matches_torch(cfg):
    rng = np.random.default_rng(cfg["seed"])
    X = rng.standard_normal((cfg["N"], cfg["H"], cfg["W"], cfg["C"]))
    layer = Conv2D(cfg["F"], cfg["kernel"], activation=cfg["activation"], stride=cfg["stride"], pad=cfg["pad"], rng=rng)
    layer.forward(X)
    layer.parameters["b"] = rng.standard_normal((1, cfg["F"]))
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    x, w, b, y = torch_conv(X, layer.parameters["W"], layer.parameters["b"], cfg)
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what=f"forward {cfg}")
    assert_close(dX, x.grad.numpy(), what=f"dX {cfg}")
    assert_close(layer.gradients["W"], w.grad.numpy(), what=f"dW {cfg}")
    assert_close(layer.gradients["b"], b.grad.numpy(), what=f"db {cfg}")


@given(cfg=conv_configs(max_batch=2, max_channels=2, max_size=6))
def test_conv2d_finite_differences(cfg):
    rng = np.random.default_rng(cfg["seed"])
    X = rng.standard_normal((cfg["N"], cfg["H"], cfg["W"], cfg["C"]))
    layer = Conv2D(cfg["F"], cfg["kernel"], activation=cfg["activation"], stride=cfg["stride"], pad=cfg["pad"], rng=rng)
    dY = rng.standard_normal(layer.forward(X).shape)
    assume(cfg["activation"] != "relu" or np.min(np.abs(layer.cache["Z"])) > 1e-4)
    dX = layer.backward(dY)
    grads = {k: v.copy() for k, v in layer.gradients.items()}
    assert check_gradients(layer.forward, dX, X, dY) < 1e-7
    for name in ("W", "b"):
        value = layer.parameters[name].copy()
        assert check_gradients(layer.forward_with_param(name, X), grads[name], value, dY) < 1e-7, name
        layer.parameters[name] = value


@st.composite
def pool_configs(draw, max_batch=8, max_channels=8, max_size=17):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    return dict(N=draw(st.integers(1, max_batch)), C=draw(st.integers(1, max_channels)),
                H=draw(st.integers(max(1, kh - 2 * ph), max_size)), W=draw(st.integers(max(1, kw - 2 * pw), max_size)),
                kernel=(kh, kw), stride=stride, pad=(ph, pw), mode=draw(st.sampled_from(["max", "average"])),
                seed=draw(st.integers(0, 2**32 - 1)))


def torch_pool(X, cfg):
    x = torch.tensor(X, requires_grad=True)
    stride = cfg["stride"] or cfg["kernel"]
    fn = F.max_pool2d if cfg["mode"] == "max" else F.avg_pool2d
    y = fn(x.permute(0, 3, 1, 2), cfg["kernel"], stride=stride, padding=cfg["pad"]).permute(0, 2, 3, 1)
    return x, y


@settings(max_examples=150)
@given(cfg=pool_configs())
def test_pool2d_matches_torch(cfg):
    rng = np.random.default_rng(cfg["seed"])
    X = rng.standard_normal((cfg["N"], cfg["H"], cfg["W"], cfg["C"]))
    layer = Pool2D(cfg["kernel"], mode=cfg["mode"], stride=cfg["stride"], pad=cfg["pad"])
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    x, y = torch_pool(X, cfg)
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what=f"forward {cfg}")
    assert_close(dX, x.grad.numpy(), what=f"dX {cfg}")


@given(cfg=pool_configs(max_batch=2, max_channels=2, max_size=7))
def test_pool2d_finite_differences(cfg):
    rng = np.random.default_rng(cfg["seed"])
    X = rng.permutation(np.arange(cfg["N"] * cfg["H"] * cfg["W"] * cfg["C"], dtype=np.float64))
    X = X.reshape(cfg["N"], cfg["H"], cfg["W"], cfg["C"]) * 0.01  # distinct values: no ties within 2h
    layer = Pool2D(cfg["kernel"], mode=cfg["mode"], stride=cfg["stride"], pad=cfg["pad"])
    dY = rng.standard_normal(layer.forward(X).shape)
    assert check_gradients(layer.forward, layer.backward(dY), X, dY) < 1e-7


def test_max_pool_tie_goes_to_the_first_maximum_like_torch():
    X = np.ones((1, 2, 2, 1))
    layer = Pool2D((2, 2), mode="max")
    layer.forward(X)
    dX = layer.backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dX[0, :, :, 0], [[1, 0], [0, 0]])
    x, y = torch_pool(X, dict(kernel=(2, 2), stride=None, pad=(0, 0), mode="max"))
    y.sum().backward()
    np.testing.assert_array_equal(dX, x.grad.numpy())


@settings(max_examples=200)
@given(n=st.integers(1, 3), ho=st.integers(1, 4), wo=st.integers(1, 4), c=st.integers(1, 3), kh=st.integers(1, 4),
       kw=st.integers(1, 4), levels=st.sampled_from([2, 3, 1000]), mode=st.sampled_from(["max", "average"]),
       seed=st.integers(0, 2**32 - 1))
def test_windows_that_tile_the_input_match_torch_ties_included(n, ho, wo, c, kh, kw, levels, mode, seed):
    """Stride = kernel and nothing left over (the tiled path), inputs with few distinct
    values (ties in most windows: the gradient still goes to the first maximum)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, levels, (n, ho * kh, wo * kw, c)).astype(np.float64)
    layer, X_before = Pool2D((kh, kw), mode=mode), X.copy()
    Y = layer.forward(X)
    assert not np.shares_memory(Y, X) and Y.flags.c_contiguous and np.array_equal(X, X_before)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    assert dX.dtype == X.dtype and not np.shares_memory(dX, X)
    x, y = torch_pool(X, dict(kernel=(kh, kw), stride=None, pad=(0, 0), mode=mode))
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), tol=0 if mode == "max" else 1e-10, what=f"forward {mode}")
    assert_close(dX, x.grad.numpy(), what=f"dX {mode} {X.shape} kernel {(kh, kw)}")


def test_average_pool_counts_padding_in_the_divisor():
    layer = Pool2D((3, 3), mode="average", stride=1, pad=1)
    Y = layer.forward(np.ones((1, 3, 3, 1)))
    assert Y[0, 0, 0, 0] == pytest.approx(4 / 9)  # corner window: 4 real ones of 9


def test_flatten_round_trip(rng):
    X = rng.standard_normal((3, 4, 5, 2))
    layer = Flatten()
    Y = layer.forward(X)
    assert Y.shape == (3, 40)
    np.testing.assert_array_equal(layer.backward(Y), X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32(dtype, rng):
    X = rng.standard_normal((2, 6, 6, 3)).astype(dtype)
    for layer in (Conv2D(4, (3, 3), activation="relu", rng=rng), Pool2D((2, 2)), Pool2D((2, 2), mode="average")):
        Y = layer.forward(X)
        assert Y.dtype == dtype and layer.backward(np.ones_like(Y)).dtype == dtype
        assert all(g.dtype == dtype for g in layer.gradients.values())


def test_same_padding_keeps_the_size_for_even_kernels(rng):
    layer = Conv2D(2, (4, 2), pad="same", rng=rng)
    assert layer.forward(rng.standard_normal((1, 7, 5, 1))).shape == (1, 7, 5, 2)


def test_output_size_formula(rng):
    layer = Conv2D(2, (3, 2), stride=(2, 3), pad=1, rng=rng)
    H, W = 11, 10
    assert layer.forward(rng.standard_normal((1, H, W, 1))).shape == (1, (H + 2 - 3) // 2 + 1, (W + 2 - 2) // 3 + 1, 2)


def test_bad_configurations_are_clear_errors(rng):
    with pytest.raises(ValueError, match="kernel height 5 is larger than the padded input height 3"):
        Conv2D(2, (5, 1), pad="valid", rng=rng).forward(np.zeros((1, 3, 8, 1)))
    with pytest.raises(ValueError, match=r"stride must be >= 1; got \(0, 0\)"):
        Conv2D(2, (3, 3), stride=0)
    with pytest.raises(ValueError, match=r"Pool2D stride must be >= 1"):
        Pool2D((2, 2), stride=0)
    with pytest.raises(ValueError, match=r"4-D input \(batch, height, width, channels\); got shape \(8, 8\)"):
        Conv2D(2).forward(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"4-D input"):
        Pool2D().forward(np.zeros((1, 8, 8)))
    layer = Conv2D(2, rng=rng)
    layer.forward(np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"initialised for inputs with channels \(3,\); got \(4,\)"):
        layer.forward(np.zeros((1, 5, 5, 4)))
    with pytest.raises(ValueError, match='pad must be "same", "valid"'):
        Conv2D(2, pad="full")
    with pytest.raises(ValueError, match="at most half the kernel"):
        Pool2D((2, 2), pad=2)
    with pytest.raises(ValueError, match='mode must be "max" or "average"'):
        Pool2D(mode="min")
    with pytest.raises(ValueError, match="kernel_shape must be >= 1"):
        Conv2D(2, (0, 3))


def unfused_col2im(dcols: np.ndarray, padded_shape, kernel_shape, out_hw, stride) -> np.ndarray:
    """The reference: dcols (N, Ho, Wo, kh, kw, C) added back window by window."""
    dX = np.zeros(padded_shape)
    (kh, kw), (sh, sw) = kernel_shape, stride
    for y in range(out_hw[0]):
        for x in range(out_hw[1]):
            dX[:, sh * y: sh * y + kh, sw * x: sw * x + kw, :] += dcols[:, y, x]
    return dX


@given(n=st.integers(1, 3), h=st.integers(3, 9), w=st.integers(3, 9), c=st.integers(1, 3), f=st.integers(1, 4),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_fused_col2im_equals_the_unfused_reference(n, h, w, c, f, kh, kw, sh, sw, seed):
    from backproplab.nn.layers.im2col import col2im_product, output_shape

    rng = np.random.default_rng(seed)
    out_hw = output_shape((h, w), (kh, kw), ((0, 0), (0, 0)), (sh, sw), "test")
    dZ = rng.standard_normal((n, *out_hw, f))
    W = rng.standard_normal((kh, kw, c, f))
    dcols = (dZ.reshape(-1, f) @ W.reshape(-1, f).T).reshape(n, *out_hw, kh, kw, c)  # dZ₂ W₂ᵀ, materialised
    fused = col2im_product(dZ, W, (n, h, w, c), (sh, sw))
    assert_close(fused, unfused_col2im(dcols, (n, h, w, c), (kh, kw), out_hw, (sh, sw)), what="col2im")


@given(n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 6), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_im2col_rows_are_the_windows_in_either_layout(n, h, w, c, kh, kw, sh, sw, seed):
    """Few channels (the offset-by-offset copy) and many (one strided copy): the same
    windows, by definition cols[n, y, x, i, j] = X_pad[n, sh·y + i, sw·x + j], and the
    matrix a view of them (no second copy)."""
    from backproplab.nn.layers.im2col import im2col, output_shape

    assume(kh <= h and kw <= w)
    X_pad = np.random.default_rng(seed).standard_normal((n, h, w, c))
    out_hw = output_shape((h, w), (kh, kw), ((0, 0), (0, 0)), (sh, sw), "test")
    cols = im2col(X_pad, (kh, kw), out_hw, (sh, sw))
    for y in range(out_hw[0]):
        for x in range(out_hw[1]):
            np.testing.assert_array_equal(cols[:, y, x], X_pad[:, sh * y: sh * y + kh, sw * x: sw * x + kw])
    assert np.shares_memory(cols.reshape(-1, kh * kw * c), cols)


def test_max_pool_backward_after_an_evaluation_forward_still_routes_to_the_first_maximum(rng):
    """In evaluation mode the tiled forward keeps no arg-max (it is not needed to predict);
    a backward pass after it (a saliency map, a gradient check) still matches torch."""
    X = rng.integers(0, 3, (2, 4, 6, 3)).astype(np.float64)  # ties in most windows
    layer = Pool2D((2, 2), mode="max")
    layer.training = False
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    x, y = torch_pool(X, dict(kernel=(2, 2), stride=None, pad=(0, 0), mode="max"))
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), tol=0, what="forward")
    assert_close(dX, x.grad.numpy(), what="dX")
