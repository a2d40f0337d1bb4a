"""nn.Module: registration, traversal, state_dict, hooks, modes, containers, init and utils."""

import copy
import math

import numpy as np
import pytest
import torch

import ember as em
import ember.nn as nn
from ember.nn import init


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.layers = nn.Sequential(nn.ReLU(), nn.Linear(8, 3))
        self.scale = nn.Parameter(em.ones(1))
        self.register_buffer("step", em.zeros(()))
        self.register_buffer("cache", em.zeros(2), persistent=False)

    def forward(self, x):
        return self.layers(self.bn(self.fc1(x))) * self.scale


class _TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.layers = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(8, 3))
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("step", torch.zeros(()))
        self.register_buffer("cache", torch.zeros(2), persistent=False)

    def forward(self, x):
        return self.layers(self.bn(self.fc1(x))) * self.scale


def test_names_match_torch():
    ours, ref = _Net(), _TorchNet()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in ref.named_children()]
    for (_, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape)


def test_repr_matches_torch():
    assert repr(_Net()).replace("_Net", "_TorchNet", 1) == repr(_TorchNet())


def test_shared_parameter_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_state_dict_round_trip_from_torch():
    ours, ref = _Net(), _TorchNet()
    ours.load_state_dict({k: em.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    ours.eval()
    ref.eval()
    np.testing.assert_allclose(
        ours(em.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_load_state_dict_mismatch_lists_everything_and_changes_nothing():
    model = _Net()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = model.state_dict()
    state = {k: em.tensor(np.full(v.shape, 7.0, np.float32)) for k, v in state.items()}
    del state["fc1.bias"]
    state["extra.weight"] = em.zeros(1)
    state["layers.1.weight"] = em.zeros(3, 9)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    msg = str(info.value)
    assert "missing keys: fc1.bias" in msg
    assert "unexpected keys: extra.weight" in msg
    assert "layers.1.weight: checkpoint (3, 9) vs model (3, 8)" in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_load_state_dict_non_strict_reports_keys():
    model = nn.Linear(2, 2)
    result = model.load_state_dict({"weight": em.zeros(2, 2), "other": em.zeros(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["other"]
    assert np.all(model.weight.detach().numpy() == 0)


def test_train_eval_and_requires_grad():
    model = _Net()
    model.eval()
    assert not model.training and not model.layers[1].training
    model.train()
    assert all(m.training for m in model.modules())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_zero_grad_and_apply():
    model = nn.Linear(3, 2)
    model(em.ones(1, 3)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad()
    assert model.weight.grad is None
    model.apply(lambda m: init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert np.all(model.weight.detach().numpy() == 0)


def test_to_dtype_converts_parameters_and_buffers():
    model = _Net().double()
    assert all(p.dtype == em.float64 for p in model.parameters())
    assert model.bn.running_mean.dtype == em.float64
    assert model.bn.num_batches_tracked.dtype == em.int64
    assert model(em.ones(2, 4, dtype=em.float64)).dtype == em.float64


def test_forward_hooks():
    model = nn.Linear(2, 2)
    calls = []
    h1 = model.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = model.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = model(em.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), model.bias.detach().numpy()[None] + 1, rtol=1e-6)
    assert calls == [(1, 2)]
    h1.remove()
    h2.remove()
    model(em.ones(1, 2))
    assert len(calls) == 1


def test_assignment_rules():
    m = nn.Module()
    m.w = nn.Parameter(em.ones(2))
    assert "w" in dict(m.named_parameters())
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'w'"):
        m.w = em.ones(2)
    m.w = None
    assert list(m.parameters()) == []
    m.register_buffer("b", em.ones(1))
    m.b = em.zeros(1)
    assert m.state_dict()["b"].tolist() == [0.0]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = m.nothing
    with pytest.raises(KeyError, match="can't contain"):
        m.register_buffer("a.b", em.ones(1))


def test_deepcopy_gives_independent_parameters():
    model = nn.Linear(2, 2)
    clone = copy.deepcopy(model)
    with em.no_grad():
        clone.weight.fill_(3.0)
    assert not np.all(model.weight.detach().numpy() == 3.0)


def test_sequential_indexing_slicing_append_insert_delete():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    seq.insert(0, nn.Identity())
    assert isinstance(seq[0], nn.Identity) and len(seq) == 5
    del seq[0]
    assert [k for k, _ in seq.named_children()] == ["0", "1", "2", "3"]
    assert seq(em.ones(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError, match="index 9 is out of range for length 4"):
        seq[9]


def test_module_list_dict_parameter_list_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert "a" in md and list(md.keys()) == ["a", "b"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    pl = nn.ParameterList([em.ones(2), nn.Parameter(em.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(list(pl.parameters())) == 2
    pd = nn.ParameterDict({"x": em.ones(1)})
    pd["y"] = nn.Parameter(em.zeros(2))
    assert sorted(n for n, _ in pd.named_parameters()) == ["x", "y"]


def test_replacing_a_child_or_parameter_keeps_its_place_like_torch():
    # state_dict keys and children keep their order when one is replaced, as in PyTorch
    orders = []
    for lib in (nn, torch.nn):
        m = lib.Sequential(lib.Linear(2, 2), lib.ReLU(), lib.Linear(2, 1))
        m[0] = lib.Linear(2, 2)
        m.add_module("1", lib.Tanh())
        m[2].weight = lib.Parameter(m[2].weight.detach().clone())
        m[2].register_parameter("bias", lib.Parameter(m[2].bias.detach().clone()))
        orders.append((list(m.state_dict()), [type(c).__name__ for c in m.children()]))
    assert orders[0] == orders[1]


@pytest.mark.parametrize("kind", ["modules", "parameters"])
def test_module_list_and_parameter_list_share_the_list_protocol(kind):
    if kind == "modules":
        make, cls = (lambda i: nn.Linear(i + 1, 1)), nn.ModuleList
    else:
        make, cls = (lambda i: nn.Parameter(em.zeros(i + 1))), nn.ParameterList
    items = [make(i) for i in range(4)]
    lst = cls(items[:2])
    assert lst.extend(items[2:3]) is lst and lst.append(items[3]) is lst
    assert len(lst) == 4 and list(lst) == items
    assert lst[-1] is items[3] and lst[1] is items[1]
    part = lst[1:3]
    assert isinstance(part, cls) and list(part) == items[1:3]
    other = make(9)
    lst[-2] = other
    assert lst[2] is other and len(lst) == 4
    names = [n for n, _ in (lst.named_children() if kind == "modules" else lst.named_parameters())]
    assert names[:4] == (["0", "1", "2", "3"] if kind == "modules" else ["0", "1", "2", "3"])
    with pytest.raises(IndexError, match=f"{cls.__name__}: index 4 is out of range for length 4"):
        lst[4]
    with pytest.raises(IndexError, match=f"{cls.__name__}: index -5 is out of range for length 4"):
        lst[-5] = other


def test_linear_default_init_matches_torch_distribution():
    em.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = lin.weight.detach().numpy()
    assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    b = lin.bias.detach().numpy()
    assert np.abs(b).max() <= bound


@pytest.mark.parametrize(
    "fn,kwargs",
    [
        ("xavier_uniform_", {}),
        ("xavier_normal_", {}),
        ("kaiming_uniform_", {"nonlinearity": "relu"}),
        ("kaiming_normal_", {"mode": "fan_out"}),
        ("trunc_normal_", {"std": 0.5}),
        ("orthogonal_", {}),
        ("uniform_", {"a": -0.3, "b": 0.7}),
        ("normal_", {"mean": 1.0, "std": 0.2}),
    ],
)
def test_init_distributions_match_torch_statistics(fn, kwargs):
    em.manual_seed(0)
    torch.manual_seed(0)
    ours = getattr(init, fn)(em.empty(256, 384), **kwargs).numpy()
    ref = getattr(torch.nn.init, fn)(torch.empty(256, 384), **kwargs).numpy()
    assert abs(ours.mean() - ref.mean()) < 0.01 + 0.02 * abs(ref.mean())
    assert abs(ours.std() - ref.std()) < 0.02 * ref.std()
    assert abs(ours.min() - ref.min()) < 0.1 * abs(ref.min()) + 0.05


def test_orthogonal_is_orthogonal_and_dirac_is_identity_conv():
    w = init.orthogonal_(em.empty(6, 10)).numpy()
    np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-5)
    d = init.dirac_(em.empty(4, 4, 3, 3)).numpy()
    np.testing.assert_array_equal(d, torch.nn.init.dirac_(torch.empty(4, 4, 3, 3)).numpy())
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(em.empty(3))


def test_sparse_init_zeros_a_fraction_of_each_column():
    w = init.sparse_(em.empty(10, 5), sparsity=0.3).numpy()
    assert all((w[:, c] == 0).sum() == 3 for c in range(5))


def test_clip_grad_norm_and_value_match_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    for norm_type in (2.0, 1.0, math.inf):
        ps = [nn.Parameter(em.zeros(*g.shape)) for g in grads]
        ts = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
        for p, t, g in zip(ps, ts, grads):
            p.grad = em.tensor(g)
            t.grad = torch.tensor(g)
        n1 = nn.utils.clip_grad_norm_(ps, 1.5, norm_type)
        n2 = torch.nn.utils.clip_grad_norm_(ts, 1.5, norm_type)
        assert n1.item() == pytest.approx(n2.item(), rel=1e-5)
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5)
    p = nn.Parameter(em.zeros(4))
    p.grad = em.tensor([-3.0, -0.1, 0.2, 5.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == pytest.approx([-1.0, -0.1, 0.2, 1.0])


def test_parameters_to_vector_and_back():
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(em.arange(8.0), model.parameters())
    assert model.weight.detach().numpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert model.bias.detach().numpy().tolist() == [6, 7]
    with pytest.raises(em.ShapeError, match="7 elements.*8"):
        nn.utils.vector_to_parameters(em.zeros(7), model.parameters())


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda nn: nn.Conv2d(16, 32, 3), "weight"),
        (lambda nn: nn.Conv2d(16, 32, 3), "bias"),
        (lambda nn: nn.Conv1d(8, 64, 5, groups=2), "weight"),
        (lambda nn: nn.ConvTranspose2d(16, 32, 3), "weight"),
        (lambda nn: nn.ConvTranspose2d(16, 32, 3), "bias"),
        (lambda nn: nn.Embedding(500, 64), "weight"),
        (lambda nn: nn.Bilinear(20, 30, 40), "weight"),
        (lambda nn: nn.PReLU(3), "weight"),
        (lambda nn: nn.BatchNorm2d(8), "weight"),
        (lambda nn: nn.LayerNorm(8), "bias"),
    ],
)
def test_default_init_draws_from_torchs_distribution(make, name):
    em.manual_seed(0)
    torch.manual_seed(0)
    ours = getattr(make(nn), name).detach().numpy()
    ref = getattr(make(torch.nn), name).detach().numpy()
    assert ours.shape == ref.shape
    # the same first two moments within 5 standard errors of the difference of two samples
    n = ours.size
    se = ref.std() * (2.0 / n) ** 0.5 + 1e-7
    assert abs(ours.mean() - ref.mean()) <= 5 * se
    assert abs(ours.std() - ref.std()) <= 5 * se
    if n >= 1000:  # the same support: extremes agree to a few percent of the spread
        assert abs(ours.min() - ref.min()) <= 0.1 * ref.std() + 0.02 * abs(ref.min())
        assert abs(ours.max() - ref.max()) <= 0.1 * ref.std() + 0.02 * abs(ref.max())
