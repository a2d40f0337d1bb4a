"""Every layer against PyTorch: copy torch's state_dict into ember, compare outputs and all gradients.

Each case builds the same layer in both libraries from one lambda (the APIs
match), runs it in train and eval mode on the same input, and compares the
output, the input gradient, every parameter gradient and the buffers after
the forward (running statistics).
"""

import numpy as np
import pytest
import torch

import ember as em
import ember.nn as enn
from ember.errors import DTypeError, ShapeError

ATOL, RTOL = 2e-5, 2e-4


def _copy_state(ours, ref):
    ours.load_state_dict({k: em.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})


def _run(ours, ref, inputs, train: bool, grad_inputs=(0,)):
    rng = np.random.default_rng(7)
    ours.train(train)
    ref.train(train)
    e_in = [em.tensor(x, requires_grad=(i in grad_inputs and x.dtype.kind == "f")) for i, x in enumerate(inputs)]
    t_in = [torch.tensor(x, requires_grad=(i in grad_inputs and x.dtype.kind == "f")) for i, x in enumerate(inputs)]
    e_out, t_out = ours(*e_in), ref(*t_in)
    if isinstance(t_out, tuple):
        e_out, t_out = e_out[0], t_out[0]
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=ATOL, rtol=RTOL, err_msg="output")
    if not t_out.requires_grad:
        return
    cot = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(em.tensor(cot))
    t_out.backward(torch.tensor(cot))
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if t.requires_grad:
            np.testing.assert_allclose(
                e.grad.numpy(), t.grad.numpy(), atol=ATOL, rtol=RTOL, err_msg=f"grad of input {i}"
            )
    t_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        tg = t_params[name].grad
        if tg is None:
            assert p.grad is None or not np.any(p.grad.numpy()), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tg.numpy(), atol=ATOL, rtol=RTOL, err_msg=f"grad of {name}")
    t_bufs = dict(ref.named_buffers())
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), t_bufs[name].numpy(), atol=ATOL, rtol=RTOL, err_msg=f"buffer {name}")


def _arr(shape, low=-2.0, high=2.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _ints(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int64)


LAYERS = {
    "Identity": (lambda nn: nn.Identity(), [(3, 4)]),
    "Linear": (lambda nn: nn.Linear(5, 3), [(4, 5)]),
    "Linear-3d-nobias": (lambda nn: nn.Linear(5, 3, bias=False), [(2, 4, 5)]),
    "Bilinear": (lambda nn: nn.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    "Conv1d": (lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1), [(2, 3, 9)]),
    "Conv1d-circular": (lambda nn: nn.Conv1d(2, 4, 3, padding=2, padding_mode="circular"), [(2, 2, 7)]),
    "Conv2d": (lambda nn: nn.Conv2d(3, 4, 3, padding=1), [(2, 3, 6, 5)]),
    "Conv2d-reflect-same": (lambda nn: nn.Conv2d(2, 4, (3, 2), padding="same", padding_mode="reflect"), [(2, 2, 6, 5)]),
    "Conv2d-replicate-groups": (
        lambda nn: nn.Conv2d(4, 4, 3, padding=1, groups=2, padding_mode="replicate"),
        [(2, 4, 5, 5)],
    ),
    "Conv2d-strided-dilated": (lambda nn: nn.Conv2d(3, 2, 3, stride=2, dilation=2, bias=False), [(1, 3, 9, 8)]),
    "Conv3d": (lambda nn: nn.Conv3d(2, 3, 2, padding=1), [(1, 2, 4, 4, 3)]),
    "ConvTranspose1d": (lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2, output_padding=1), [(2, 3, 5)]),
    "ConvTranspose2d": (lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, groups=2), [(2, 4, 4, 3)]),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(2), [(2, 3, 8)]),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), [(2, 3, 7, 6)]),
    "MaxPool3d": (lambda nn: nn.MaxPool3d(2), [(1, 2, 4, 4, 4)]),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(3, stride=2, padding=1), [(2, 3, 8)]),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2, count_include_pad=False, padding=1), [(2, 3, 5, 6)]),
    "AvgPool3d": (lambda nn: nn.AvgPool3d(2), [(1, 2, 4, 4, 4)]),
    "AdaptiveAvgPool1d": (lambda nn: nn.AdaptiveAvgPool1d(3), [(2, 3, 7)]),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d((3, 2)), [(2, 3, 7, 5)]),
    "AdaptiveMaxPool1d": (lambda nn: nn.AdaptiveMaxPool1d(3), [(2, 3, 7)]),
    "AdaptiveMaxPool2d": (lambda nn: nn.AdaptiveMaxPool2d(2), [(2, 3, 5, 5)]),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(4), [(6, 4)]),
    "BatchNorm1d-3d": (lambda nn: nn.BatchNorm1d(4, momentum=None), [(3, 4, 5)]),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), [(4, 3, 5, 5)]),
    "BatchNorm2d-noaffine": (lambda nn: nn.BatchNorm2d(3, affine=False), [(4, 3, 2, 2)]),
    "BatchNorm2d-notrack": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), [(4, 3, 2, 2)]),
    "BatchNorm3d": (lambda nn: nn.BatchNorm3d(2), [(2, 2, 3, 3, 3)]),
    "LayerNorm": (lambda nn: nn.LayerNorm(5), [(3, 4, 5)]),
    "LayerNorm-2d": (lambda nn: nn.LayerNorm((4, 5), elementwise_affine=True, bias=False), [(3, 4, 5)]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [(3, 4, 5)]),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3, affine=True), [(2, 3, 6)]),
    "InstanceNorm2d-track": (lambda nn: nn.InstanceNorm2d(3, track_running_stats=True), [(2, 3, 4, 4)]),
    "RMSNorm": (lambda nn: nn.RMSNorm(5), [(3, 5)]),
    "LocalResponseNorm": (lambda nn: nn.LocalResponseNorm(3), [(2, 5, 4, 4)]),
    "Flatten": (lambda nn: nn.Flatten(), [(2, 3, 4)]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 6)), [(3, 12)]),
    "Upsample-nearest": (lambda nn: nn.Upsample(scale_factor=2), [(1, 2, 3, 3)]),
    "Upsample-bilinear": (lambda nn: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False), [(1, 2, 3, 4)]),
    "PixelShuffle": (lambda nn: nn.PixelShuffle(2), [(1, 8, 2, 3)]),
    "PixelUnshuffle": (lambda nn: nn.PixelUnshuffle(2), [(1, 2, 4, 6)]),
    "PReLU": (lambda nn: nn.PReLU(3), [(2, 3, 4)]),
    "Softmax": (lambda nn: nn.Softmax(dim=1), [(3, 5)]),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=-1), [(3, 5)]),
    "Softmin": (lambda nn: nn.Softmin(dim=0), [(3, 5)]),
    "GLU": (lambda nn: nn.GLU(), [(3, 6)]),
}

for _name, _args in [
    ("ReLU", ()),
    ("ReLU6", ()),
    ("LeakyReLU", (0.2,)),
    ("ELU", (0.7,)),
    ("SELU", ()),
    ("CELU", (1.3,)),
    ("GELU", ()),
    ("SiLU", ()),
    ("Mish", ()),
    ("Softplus", (2.0, 5.0)),
    ("Softsign", ()),
    ("Hardswish", ()),
    ("Hardsigmoid", ()),
    ("Hardtanh", (-0.5, 0.5)),
    ("LogSigmoid", ()),
    ("Tanhshrink", ()),
    ("Softshrink", (0.3,)),
    ("Hardshrink", (0.3,)),
    ("Threshold", (0.1, -1.0)),
    ("Sigmoid", ()),
    ("Tanh", ()),
]:
    LAYERS[_name] = (lambda nn, n=_name, a=_args: getattr(nn, n)(*a), [(3, 7)])


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_matches_torch(case, train):
    make, shapes = LAYERS[case]
    em.manual_seed(0)
    torch.manual_seed(0)
    ref = make(torch.nn)
    ours = make(enn)
    _copy_state(ours, ref)
    inputs = [_arr(s, seed=i) for i, s in enumerate(shapes)]
    _run(ours, ref, inputs, train, grad_inputs=tuple(range(len(inputs))))


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_batchnorm_running_stats_over_several_steps(train):
    ref, ours = torch.nn.BatchNorm2d(3), enn.BatchNorm2d(3)
    for step in range(3):
        _run(ours, ref, [_arr((4, 3, 3, 3), seed=step)], True)
    _run(ours, ref, [_arr((4, 3, 3, 3), seed=9)], train)
    assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item()


def test_embedding_and_from_pretrained():
    ref, ours = torch.nn.Embedding(10, 4, padding_idx=1), enn.Embedding(10, 4, padding_idx=1)
    _copy_state(ours, ref)
    _run(ours, ref, [_ints((3, 5), 10)], True, grad_inputs=())
    table = _arr((6, 3))
    frozen = enn.Embedding.from_pretrained(em.tensor(table))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(em.tensor([2, 5])).numpy(), table[[2, 5]])
    assert enn.Embedding(10, 4, padding_idx=1).weight.detach().numpy()[1].tolist() == [0, 0, 0, 0]


def test_lazy_linear_infers_in_features():
    lazy = enn.LazyLinear(3)
    out = lazy(em.ones(2, 7))
    assert out.shape == (2, 3) and lazy.weight.shape == (3, 7) and isinstance(lazy, enn.Linear)


def test_max_unpool_inverts_max_pool():
    x = _arr((1, 2, 4, 4))
    pool_e, unpool_e = enn.MaxPool2d(2, return_indices=True), enn.MaxUnpool2d(2)
    pool_t, unpool_t = torch.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxUnpool2d(2)
    ye, ie = pool_e(em.tensor(x))
    yt, it = pool_t(torch.tensor(x))
    np.testing.assert_array_equal(ie.numpy(), it.numpy())
    np.testing.assert_allclose(unpool_e(ye, ie).numpy(), unpool_t(yt, it).numpy())


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"])
def test_dropout_layers_are_identity_in_eval_and_random_in_train(name):
    layer = getattr(enn, name)(0.5)
    shape = (4, 3, 8, 8, 2) if name == "Dropout3d" else (4, 3, 8, 8) if name == "Dropout2d" else (4, 3, 16)
    x = em.tensor(_arr(shape))
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    layer.train()
    assert not np.allclose(layer(x).numpy(), x.numpy())


def test_layer_shape_errors_are_clear():
    with pytest.raises(em.ShapeError, match=r"Linear: expected input with 5 features.*\(4, 6\)"):
        enn.Linear(5, 3)(em.ones(4, 6))
    with pytest.raises(em.ShapeError, match=r"BatchNorm2d: expected 4D input, got 3D"):
        enn.BatchNorm2d(3)(em.ones(2, 3, 4))
    with pytest.raises(em.ShapeError, match=r"Conv2d: expected a 3-d \(unbatched\) or 4-d \(batched\) input"):
        enn.Conv2d(1, 2, 3)(em.ones(5, 5))
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups \\(2\\)"):
        enn.Conv2d(3, 4, 3, groups=2)


def test_linear_fast_path_falls_back_to_the_checked_call():
    # enn.Linear calls the op directly when weight, bias and input agree; otherwise the checked path raises
    lin = enn.Linear(4, 3)
    x = em.randn(2, 4)
    np.testing.assert_allclose(
        lin(x).detach().numpy(), x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy(), rtol=1e-6
    )
    lin.weight = enn.Parameter(em.randn(3, 4, dtype=em.float64))
    with pytest.raises(DTypeError, match="linear: input is ember.float32 but weight is ember.float64"):
        lin(x)
    lin.weight = enn.Parameter(em.randn(3, 5))
    with pytest.raises(ShapeError, match=r"linear: cannot multiply \(2, 4\) by the transpose of weight \(3, 5\)"):
        lin(x)
    lin.bias = None
    lin.weight = enn.Parameter(em.randn(3, 4))
    np.testing.assert_allclose(lin(x).detach().numpy(), x.numpy() @ lin.weight.detach().numpy().T, rtol=1e-6)
    del lin.weight
    with pytest.raises(AttributeError, match="weight"):
        lin(x)
