"""Fused inference in ``Sequential`` (``ember.nn._fuse``) against PyTorch and against ember's own layers.

With gradients off, ``Conv2d, ReLU[, MaxPool2d(2)]``, ``ReLU, MaxPool2d(2)`` and
``Linear, ReLU`` run as one op. Each case is checked twice: against PyTorch at the
conv tests' float32 tolerances (atol 5e-5, rtol 1e-4), and bit for bit against the
same layers run one by one in ember (a no-op forward hook on a layer turns fusion
off for the run it is in), since the fused kernels must give exactly the layers'
values: the bias, ReLU and maximum commute. The ``spy`` fixture forces ember's
vector kernels on any host and records which fused ops ran and what they returned.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember as em
from ember import _threads
from ember.errors import ShapeError
from ember.nn import _fuse
from ember.ops import gemm

TOL = {"atol": 5e-5, "rtol": 1e-4}


@pytest.fixture
def spy(monkeypatch):
    monkeypatch.setitem(gemm._state, "host", True)
    monkeypatch.setattr(gemm, "MIN_WORK", 1)  # small products take the gathered kernel too
    calls = []
    for module, name in (
        (_fuse._conv_ops, "_conv2d_relu"),
        (_fuse._pool_ops, "_relu_max_pool2d"),
        (_fuse._linalg, "_linear_relu"),
        (_fuse._linalg, "_row_chain"),
    ):
        real = getattr(module, name)

        def wrapped(*a, real=real, name=name):
            out = real(*a)
            calls.append((name, out[0] if isinstance(out, tuple) else out is not None))  # chain: layers run
            return out

        monkeypatch.setattr(module, name, wrapped)
    return calls


def _pair(build, seed=0):
    """The same model in ember and PyTorch (ember's parameters copied over)."""
    em.manual_seed(seed)
    mine = build(em.nn).eval()
    theirs = build(torch.nn).eval()
    with torch.no_grad():
        for (_, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
            q.copy_(torch.from_numpy(np.array(p.data)))
    return mine, theirs


def _unfused(model, x):
    """``model(x)`` with every layer run on its own (a no-op hook on each one turns fusion off)."""
    handles = [m.register_forward_hook(lambda *a: None) for m in model]
    try:
        with em.no_grad():
            return model(x).data
    finally:
        for h in handles:
            h.remove()


def _check(model, reference, x, spy, expected_calls):
    with em.no_grad():
        y = model(em.from_numpy(x))
    assert spy == expected_calls
    with torch.no_grad():
        t = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y.data, t, **TOL)
    same = _unfused(model, em.from_numpy(x))
    assert y.shape == same.shape
    np.testing.assert_array_equal(y.data, same)  # NaN at the same places; values bit for bit below
    np.testing.assert_array_equal(np.signbit(y.data), np.signbit(same))
    assert not y.requires_grad
    return y


def _cnn(c, o, k=3, pool=True, **conv):
    def build(nn):
        layers = [nn.Conv2d(c, o, k, **conv), nn.ReLU()]
        return nn.Sequential(*layers, nn.MaxPool2d(2)) if pool else nn.Sequential(*layers)

    return build


def _images(shape, seed=1, nans=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    if nans:
        x.reshape(-1)[np.random.default_rng(seed + 1).choice(x.size, nans, replace=False)] = np.nan
    return x


CONV_CASES = [
    # (input shape, model builder): the reference CNN's layers at batch 1 and 3, odd sizes (the pool
    # drops the last row and column), no bias, rows wider than 32, 5x5 and dilated kernels
    ((1, 1, 28, 28), _cnn(1, 32, padding=1)),  # one input channel: the direct kernel
    ((3, 1, 17, 21), _cnn(1, 9, padding=1)),
    ((2, 1, 20, 40), _cnn(1, 5, pool=False, padding=(1, 2))),
    ((1, 32, 14, 14), _cnn(32, 64, padding=1)),  # the gathered product
    ((3, 8, 13, 11), _cnn(8, 10)),
    ((2, 4, 15, 37), _cnn(4, 33, 5, padding=2, bias=False)),
    ((2, 6, 12, 12), _cnn(6, 7, dilation=2, padding="same")),
    ((2, 6, 9, 10), _cnn(6, 7, pool=False, padding=1)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: str(c[0]) if isinstance(c, tuple) else None)
def test_conv_relu_pool_is_one_op(case, spy):
    shape, build = case
    model, reference = _pair(build)
    _check(model, reference, _images(shape), spy, [("_conv2d_relu", True)])


@pytest.mark.parametrize("channels", [1, 5])
def test_nan_and_zero_inputs_give_the_layers_values(channels, spy):
    model, reference = _pair(_cnn(channels, 16, padding=1))
    x = _images((2, channels, 16, 18), nans=3)
    x[:, :, :4] = 0.0  # windows of zero sums: ReLU's +0 whatever the sign of the sum
    x[:, :, 4:6] = -0.0
    model[0].bias.data[:] = 0.0  # no bias: the sums' own signs of zero reach the ReLU
    with torch.no_grad():
        reference[0].bias.zero_()
    y = _check(model, reference, x, spy, [("_conv2d_relu", True)])
    assert np.isnan(y.data).any() and (y.data == 0).any()


@pytest.mark.parametrize("workers", [1, 2])
def test_gathered_images_split_and_chunked(workers, spy, monkeypatch):
    monkeypatch.setattr(_threads, "workers", lambda: workers)
    monkeypatch.setattr(gemm, "THREAD_WORK", 1)
    monkeypatch.setattr(em.ops.conv, "_CHUNK_BYTES", 2 * 12 * 10 * 11 * 4)  # two images' product outputs
    model, reference = _pair(_cnn(16, 12, padding=1))
    _check(model, reference, _images((5, 16, 8, 9)), spy, [("_conv2d_relu", True)])


def test_conv_the_kernels_do_not_take_falls_back_to_relu_pool(spy):
    # stride 2: no vector kernel takes the convolution, so the conv runs alone and ReLU-pool fuses
    model, reference = _pair(_cnn(3, 8, stride=2, padding=1))
    _check(model, reference, _images((2, 3, 20, 22)), spy, [("_conv2d_relu", False), ("_relu_max_pool2d", True)])


def test_winograd_conv_then_relu_pool(spy, monkeypatch):
    monkeypatch.setattr(em.ops.winograd, "MIN_TILES", 1)
    monkeypatch.setattr(em.ops.winograd, "MIN_CHANNELS", 1)
    model, reference = _pair(_cnn(4, 6, padding=1))
    _check(model, reference, _images((2, 4, 10, 10)), spy, [("_conv2d_relu", False), ("_relu_max_pool2d", True)])


@pytest.mark.parametrize("layout", ["contiguous", "channel-major"])
def test_relu_pool_after_other_layers(layout, spy):
    def build(nn):
        return nn.Sequential(nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2, 2))

    model, reference = _pair(build)
    x = _images((3, 6, 9, 13), nans=2)
    if layout == "channel-major":  # as a convolution's output lies: an NCHW view of (C, N, H, W) memory
        with em.no_grad():
            y = model(em.from_numpy(np.ascontiguousarray(x.swapaxes(0, 1))).transpose(0, 1))
        assert spy == [("_relu_max_pool2d", True)]
        np.testing.assert_array_equal(y.data, _unfused(model, em.from_numpy(x)))
        return
    _check(model, reference, x, spy, [("_relu_max_pool2d", True)])


def _mlp(*widths, relu_last=False, bias=True):
    def build(nn):
        layers = []
        for k, (a, b) in enumerate(zip(widths, widths[1:])):
            layers.append(nn.Linear(a, b, bias=bias))
            if relu_last or k < len(widths) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    return build


@pytest.mark.parametrize("shape", [(6, 40), (2, 3, 40)])
def test_linear_relu(shape, spy):
    model, reference = _pair(_mlp(40, 24, 10, 3))
    _check(model, reference, _images(shape), spy, [("_linear_relu", True)] * 2)


@pytest.mark.parametrize(
    ("widths", "relu_last", "bias"),
    [((40, 24, 10, 3), False, True), ((2000, 300, 7), True, True), ((16, 16), True, False), ((9, 33, 5), False, False)],
)
def test_one_row_through_linear_layers_is_one_kernel_call(widths, relu_last, bias, spy):
    model, reference = _pair(_mlp(*widths, relu_last=relu_last, bias=bias))
    layers = len(widths) - 1
    expected = [("_row_chain", layers)]  # one call, a single Linear-ReLU included
    _check(model, reference, _images((1, widths[0])), spy, expected)


def test_a_chain_stops_where_a_layer_does_not_fit(spy, monkeypatch):
    nn = em.nn
    em.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 5), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    x = em.from_numpy(_images((1, 8)))
    expected = _unfused(model, x)
    # a transposed (strided) weight: the chain is the two layers before it, then that layer alone
    model[3].weight = nn.Parameter(em.from_numpy(np.ascontiguousarray(model[3].weight.data.T)).t())
    with em.no_grad():
        y = model(x)
    np.testing.assert_array_equal(y.data, expected)
    assert spy == [("_row_chain", 2), ("_row_chain", 0), ("_linear_relu", True)]
    # a hook on the second layer: the first runs with its ReLU (a run of one layer), the hooked
    # layer on its own, and the chain starts after it
    spy.clear()
    model[3].weight = nn.Parameter(em.from_numpy(np.ascontiguousarray(model[3].weight.data)))
    handle = model[2].register_forward_hook(lambda *a: None)
    with em.no_grad():
        y = model(x)
    handle.remove()
    np.testing.assert_array_equal(y.data, expected)
    assert spy == [("_row_chain", 1), ("_row_chain", 2)]
    # a read-only weight (another Numba array type) also ends the chain before it
    spy.clear()
    model[0].weight.data.flags.writeable = False
    with em.no_grad():
        y = model(x)
    np.testing.assert_array_equal(y.data, expected)
    assert spy[0] == ("_row_chain", 0)


def test_linear_relu_without_bias_and_in_float64(spy):
    def build(nn):
        return nn.Sequential(nn.Linear(30, 20, bias=False), nn.ReLU()).double()

    model, reference = _pair(build)
    _check(model, reference, _images((2, 30)).astype(np.float64), spy, [("_linear_relu", True)])


@pytest.mark.parametrize("batch", [1, 2])
def test_the_whole_reference_cnn(batch, spy):
    def build(nn):  # the benchmark's CNN (bench.workloads.cnn)
        convs = [*_cnn(1, 32, padding=1)(nn), *_cnn(32, 64, padding=1)(nn)]
        return nn.Sequential(*convs, nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))

    model, reference = _pair(build)
    dense = [("_row_chain", 2)] if batch == 1 else [("_linear_relu", True)]
    _check(model, reference, _images((batch, 1, 28, 28)), spy, [("_conv2d_relu", True)] * 2 + dense)


# ---------------------------------------------------------------- what is not fused
class MyReLU(em.nn.ReLU):
    pass


@pytest.mark.parametrize(
    "variant",
    ["hook on relu", "pre-hook on pool", "relu subclass", "pool 3", "pool ceil", "pool indices", "pool stride 1"],
)
def test_runs_that_are_not_fused_give_the_layers_values(variant, spy):
    nn = em.nn
    pools = {
        "pool 3": nn.MaxPool2d(3),
        "pool ceil": nn.MaxPool2d(2, ceil_mode=True),
        "pool indices": nn.MaxPool2d(2, return_indices=True),
        "pool stride 1": nn.MaxPool2d(2, 1),
    }
    relu = MyReLU() if variant == "relu subclass" else nn.ReLU()
    model = nn.Sequential(nn.Conv2d(3, 4, 3), relu, pools.get(variant, nn.MaxPool2d(2)))
    seen = []
    if variant == "hook on relu":
        relu.register_forward_hook(lambda m, a, out: seen.append(out.shape))
    if variant == "pre-hook on pool":
        model[2].register_forward_pre_hook(lambda m, a: seen.append(a[0].shape))
    x = em.from_numpy(_images((2, 3, 11, 11)))
    with em.no_grad():
        y = model(x)
    with em.no_grad():
        expected = model[2](model[1](model[0](x)))
    if variant == "pool indices":
        np.testing.assert_array_equal(y[0].data, expected[0].data)
        np.testing.assert_array_equal(y[1].data, expected[1].data)
    else:
        np.testing.assert_array_equal(y.data, expected.data)
    if variant in ("hook on relu", "pre-hook on pool"):
        assert seen[0] == (2, 4, 9, 9)
    # a run of conv and ReLU alone is still fused where only the pool is out
    fused_conv = variant.startswith("pool") or variant == "pre-hook on pool"
    assert ("_conv2d_relu", True) in spy if fused_conv else ("_conv2d_relu", True) not in spy
    assert ("_relu_max_pool2d", True) not in spy


def test_with_gradients_on_nothing_is_fused_and_gradients_match_torch(spy):
    model, reference = _pair(_cnn(2, 5, padding=1))
    x = _images((2, 2, 8, 8))
    xe, xt = em.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    model(xe).sum().backward()
    reference(xt).sum().backward()
    assert spy == []
    np.testing.assert_allclose(xe.grad.data, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(model[0].weight.grad.data, reference[0].weight.grad.numpy(), atol=1e-4, rtol=1e-4)


def test_unbatched_input_pools_fused_and_float64_runs_the_layers(spy):
    model, reference = _pair(_cnn(2, 5, padding=1))
    x = _images((2, 8, 8))  # unbatched (C, H, W)
    with em.no_grad():
        y = model(em.from_numpy(x))
    np.testing.assert_allclose(y.data, reference(torch.from_numpy(x)).detach().numpy(), **TOL)
    model64 = model.double()
    with em.no_grad():
        y64 = model64(em.from_numpy(x[None].astype(np.float64)))
    np.testing.assert_allclose(y64.data[0], y.data, atol=1e-5)
    # unbatched: the conv alone, then ReLU-pool on (C, H, W); float64: no kernel takes either
    assert spy == [
        ("_conv2d_relu", False),
        ("_relu_max_pool2d", True),
        ("_conv2d_relu", False),
        ("_relu_max_pool2d", False),
    ]


def test_bad_inputs_raise_the_layers_own_errors(spy):
    nn = em.nn
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    linear = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
    with em.no_grad():
        with pytest.raises(ShapeError) as fused:
            conv(em.zeros((2, 2, 8, 8)))
        with pytest.raises(ShapeError) as alone:
            conv[0](em.zeros((2, 2, 8, 8)))
        assert str(fused.value) == str(alone.value) and "2" in str(fused.value)
        for batch in (1, 2):
            with pytest.raises(ShapeError, match="Linear: expected input with 5 features"):
                linear(em.zeros((batch, 6)))
        chain = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
        with pytest.raises(ShapeError, match="Linear: expected input with 5 features"):
            chain(em.zeros((1, 6)))
        broken = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(3, 2), nn.Linear(2, 2))  # 4 into 3
        with pytest.raises(ShapeError, match="Linear: expected input with 3 features"):
            broken(em.zeros((1, 5)))
        with pytest.raises(em.errors.DTypeError):
            conv(em.zeros((2, 3, 8, 8), dtype=em.float64))
        # a weight set to None: the layer's own error, as without fusion
        for seq in (nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), nn.Sequential(nn.Linear(5, 4), nn.ReLU())):
            seq[0].weight = None
            x = em.zeros((1, 3, 8, 8)) if isinstance(seq[0], nn.Conv2d) else em.zeros((1, 5))
            with pytest.raises(Exception) as fused:
                seq(x)
            with pytest.raises(Exception) as alone:
                seq[0](x)
            assert type(fused.value) is type(alone.value) and str(fused.value) == str(alone.value)
        # an output too small to pool: the pool's own error
        tiny = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
        with pytest.raises(Exception) as fused:
            tiny(em.zeros((1, 3, 3, 3)))
        with pytest.raises(Exception) as alone:
            tiny[2](tiny[1](tiny[0](em.zeros((1, 3, 3, 3)))))
        assert type(fused.value) is type(alone.value) and str(fused.value) == str(alone.value)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "set_grad_enabled(False)"])
def test_every_way_of_turning_gradients_off_fuses(mode, spy):
    model, reference = _pair(_cnn(1, 8, padding=1))
    x = _images((2, 1, 16, 16))
    context = {
        "no_grad": em.no_grad,
        "inference_mode": em.inference_mode,
        "set_grad_enabled(False)": lambda: em.set_grad_enabled(False),
    }[mode]
    with context():
        y = model(em.from_numpy(x))
    assert spy == [("_conv2d_relu", True)]
    np.testing.assert_allclose(y.data, reference(torch.from_numpy(x)).detach().numpy(), **TOL)
