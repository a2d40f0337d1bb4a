"""Audit of issues 2 (core ops) and 3 (``ember.nn.functional``) against PyTorch.

Two parts:

1. Every op the issues list exists in ember wherever torch has it (``ember.X``,
   ``Tensor.X``, ``F.X``, ``ember.linalg.X``) and takes torch's parameters: the
   same names, torch's positional parameters in torch's order, the same
   defaults. ember may add keyword-only parameters. Justified exceptions are
   listed in ``SIGNATURE_EXCEPTIONS`` with the reason.
2. Gap fillers: ``check_op`` (values, dtypes, every gradient vs torch) and
   float64 ``check_gradcheck`` cases for the shape classes the family test files
   did not reach (0-d, size-0 dims, broadcasting, transposed/sliced layouts),
   found by tracing which ops each existing ``check_op``/``gradcheck`` call ran.

Tolerances: float32 atol 1e-5 / rtol 1e-4 (check_op's default) unless stated;
float64 finite differences atol 1e-5 / rtol 1e-3 (check_gradcheck's default).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from tests.helpers import check_gradcheck, check_op, make_array

# --------------------------------------------------------------------------- the issues' op lists
ELEMENTWISE = """add sub mul div true_divide floor_divide remainder pow neg abs sign exp exp2 log log2 log10 log1p
expm1 sqrt rsqrt square sin cos tan asin acos atan atan2 sinh cosh tanh sigmoid logit relu erf erfc reciprocal floor
ceil round trunc frac clamp clip maximum minimum where lerp hypot isnan isinf isfinite nan_to_num logical_and
logical_or logical_xor logical_not eq ne lt le gt ge bitwise_and bitwise_or bitwise_xor bitwise_not""".split()
REDUCTIONS = """sum mean prod max min amax amin argmax argmin var std logsumexp norm all any cumsum cumprod sort topk
median mode""".split()
SHAPE_OPS = """reshape view flatten unflatten squeeze unsqueeze permute transpose swapaxes movedim expand expand_as
broadcast_to repeat tile repeat_interleave cat concat stack hstack vstack split chunk unbind narrow flip roll tril triu
diagonal""".split()
INDEXING = "gather scatter scatter_add index_select masked_fill masked_select take_along_dim".split()
LINALG = "matmul mm bmm mv dot outer einsum".split()
CORE = ELEMENTWISE + REDUCTIONS + SHAPE_OPS + INDEXING + LINALG
CREATION = """tensor as_tensor from_numpy zeros ones full empty arange linspace eye zeros_like ones_like full_like
empty_like rand_like randn_like randint_like rand randn randint randperm normal bernoulli multinomial
manual_seed""".split()
TENSOR_ONLY = """size numel item numpy tolist to float double long int bool clone contiguous add_ sub_ mul_ div_
zero_ fill_ copy_ clamp_ uniform_ normal_ detach requires_grad_ retain_grad register_hook backward""".split()
LINALG_NAMESPACE = "norm inv det solve".split()
FUNCTIONAL = """linear bilinear conv1d conv2d conv3d conv_transpose1d conv_transpose2d max_pool1d max_pool2d
max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_max_pool1d
adaptive_max_pool2d max_unpool2d lp_pool2d interpolate pixel_shuffle unfold fold batch_norm layer_norm group_norm
instance_norm rms_norm local_response_norm normalize dropout dropout1d dropout2d dropout3d alpha_dropout embedding
embedding_bag one_hot relu relu6 leaky_relu elu selu celu gelu silu mish softplus softsign hardswish hardsigmoid
hardtanh logsigmoid prelu glu tanhshrink softshrink hardshrink threshold softmax log_softmax softmin cross_entropy
nll_loss binary_cross_entropy binary_cross_entropy_with_logits mse_loss l1_loss smooth_l1_loss huber_loss kl_div
poisson_nll_loss gaussian_nll_loss cosine_embedding_loss margin_ranking_loss hinge_embedding_loss
triplet_margin_loss multi_margin_loss ctc_loss cosine_similarity pairwise_distance scaled_dot_product_attention
pad""".split()

# (namespace, name) -> the ember object and torch's, or None where the namespace lacks it
NAMESPACES = {
    "ember": (em, torch),
    "Tensor": (em.Tensor, torch.Tensor),
    "F": (F, TF),
    "linalg": (em.linalg, torch.linalg),
    "autograd": (em.autograd, torch.autograd),
}
API = (
    [("ember", n) for n in CORE + CREATION + ["pad", "one_hot", "linear"]]
    + [("Tensor", n) for n in CORE + TENSOR_ONLY]
    + [("F", n) for n in FUNCTIONAL]
    + [("linalg", n) for n in LINALG_NAMESPACE]
    + [("autograd", n) for n in ("grad", "gradcheck", "Function")]
    + [(ns, n) for ns in ("ember", "Tensor") for n in ("softmax", "log_softmax")]  # torch.softmax, x.softmax
)

# names a torch namespace lacks but the issues ask ember to have (pad, one_hot, linear under ember.*)
EMBER_EXTRAS = {("ember", "pad"), ("ember", "one_hot"), ("ember", "linear")}

# torch parameters that have no meaning in ember (no out= tensors, no devices or layouts)
IGNORED_TORCH_PARAMS = {
    "out",
    "layout",
    "device",
    "pin_memory",
    "memory_format",
    "non_blocking",
    "cudnn_enable",
    "cudnn_enabled",
}

# Justified differences from torch's signature: (namespace, name) -> reason.
SIGNATURE_EXCEPTIONS = {
    # torch documents the parameter as ``shape`` but its binding only accepts ``size=``; ember follows the docs
    ("ember", "broadcast_to"): "torch's keyword is size (documented as shape)",
    ("Tensor", "broadcast_to"): "torch's keyword is size (documented as shape)",
    # torch documents ``one_hot(tensor, num_classes)`` but its binding's keyword is ``input``
    ("F", "one_hot"): "torch's keyword is input (documented as tensor)",
    ("ember", "one_hot"): "torch's keyword is input (documented as tensor)",
    # torch's ``from``/``to`` are Python keywords, so they can only be passed positionally anyway
    ("Tensor", "uniform_"): "torch's from/to cannot be passed by keyword in Python",
    # ember's integer dtype default is None meaning int64, the same result as torch's explicit int64
    ("ember", "randint"): "dtype=None means int64",
    ("ember", "randperm"): "dtype=None means int64",
    # issue 2 specifies gradcheck(fn, inputs, eps, atol, rtol); torch's other flags test features ember lacks
    ("autograd", "gradcheck"): "issue 2 names the function parameter fn; vmap/forward-AD flags do not apply",
    # torch's method says split_size, its function split_size_or_sections; ember has one function for both
    ("Tensor", "split"): "torch's method and function name the size parameter differently",
    # torch's var(input, unbiased=True) overload; ember's None means unset, i.e. torch's default correction=1
    ("ember", "var"): "unbiased=None means torch's default (correction 1)",
    ("ember", "std"): "unbiased=None means torch's default (correction 1)",
    ("Tensor", "var"): "unbiased=None means torch's default (correction 1)",
    ("Tensor", "std"): "unbiased=None means torch's default (correction 1)",
    # torch 2.x's mm.dtype/bmm.dtype overloads (out_dtype=) are for CUDA low-precision GEMMs
    ("ember", "mm"): "out_dtype is a CUDA low-precision GEMM option",
    ("ember", "bmm"): "out_dtype is a CUDA low-precision GEMM option",
    ("Tensor", "mm"): "out_dtype is a CUDA low-precision GEMM option",
    ("Tensor", "bmm"): "out_dtype is a CUDA low-precision GEMM option",
    # TorchScript's copy_.Tensor/int/float overloads call the source other; Python's binding is copy_(src, non_blocking)
    ("Tensor", "copy_"): "only TorchScript's overloads name the source other",
    # only_inputs is deprecated and ignored by torch; is_grads_batched needs vmap
    ("autograd", "grad"): "only_inputs is deprecated in torch, is_grads_batched needs vmap",
}


def _same_default(torch_default, ember_default) -> bool:
    """Equal defaults, reading ATen's ``[]`` as None and ``[k, k]`` as the scalar ``k`` (stride=[1, 1] is 1)."""
    t, e = torch_default, ember_default
    if t == "valid" and e == 0:  # conv's padding='valid' overload: no padding
        return True
    if isinstance(t, (list, tuple)):
        if not t:
            return e is None or e == () or e == []
        if isinstance(e, (int, float)) and not isinstance(e, bool):
            return all(v == e for v in t)
        return isinstance(e, (list, tuple)) and tuple(e) == tuple(t)
    return t == e


def _torch_overloads(obj, aten_name: str):
    """torch's parameter lists: from inspect.signature, or for C builtins from the ATen schemas.

    Each is a list of (name, default or inspect.Parameter.empty, keyword_only). ATen calls the
    first tensor ``self`` where the Python binding says ``input``; ``torch.linalg`` calls it ``A``.
    """
    empty = inspect.Parameter.empty
    try:
        sig = inspect.signature(obj)
    except (ValueError, TypeError):
        sig = None
    if sig is not None:
        params = []
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            params.append((p.name, p.default, p.kind == p.KEYWORD_ONLY))
        return [params]
    overloads = []
    for schema in torch._C._jit_get_schemas_for_operator("aten::" + aten_name):
        args = schema.arguments
        if any(a.is_out or a.name == "out" for a in args) or any("Dimname" in str(a.type) for a in args):
            continue
        if args and all(len(a.name) == 1 and a.name.islower() for a in args):  # TorchScript's prim (a, b)
            continue
        if any(a.name == "self" and str(a.type) != "Tensor" for a in args):  # sum(int[] self), pow(Scalar self)
            continue
        if args and args[0].name == "t":  # TorchScript's tensor(float t) literal overloads
            continue
        first = "A" if aten_name.startswith("linalg_") else "input"
        overloads.append(
            [
                (
                    first if a.name == "self" else a.name,
                    a.default_value if a.default_value is not None else empty,
                    a.kwarg_only,
                )
                for a in args
            ]
        )
    return overloads


def _signature_problems(e_obj, t_obj, aten_name: str, method: bool) -> list[str]:
    """How ``e_obj``'s parameters differ from torch's (empty when they fit).

    ember must take every parameter name of every torch overload (one Python function covers
    them all), and fit at least one overload in positional order and defaults.
    """
    empty = inspect.Parameter.empty
    params = list(inspect.signature(e_obj).parameters.values())
    if method:
        params = params[1:]
    names = [p.name for p in params]
    variadic = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    defaults = {p.name: p.default for p in params}
    overloads = []
    for overload in _torch_overloads(t_obj, aten_name):
        if method:  # the method's receiver: ATen's self (first, or second as in where(condition, self, other))
            overload = [p for p in overload if p[0] not in ("input", "self")]
        overloads.append([p for p in overload if p[0] not in IGNORED_TORCH_PARAMS])
    if not overloads:
        return []
    problems = []
    missing = sorted({n for overload in overloads for n, _, _ in overload if n not in names})
    if missing and not variadic:
        problems.append(f"lacks {missing}")
    wrong_defaults = []
    for overload in overloads:
        for n, d, _ in overload:
            e_d = defaults.get(n, empty)
            if d is not empty and e_d is not empty and not _same_default(d, e_d):
                wrong_defaults.append(f"default {n}={e_d!r} vs torch's {d!r}")
    problems += sorted(set(wrong_defaults))
    orders = [[n for n, _, kw in overload if not kw] for overload in overloads]
    if not variadic and not any(positional[: len(order)] == order for order in orders):
        problems.append(f"positional {positional} fits none of torch's {orders}")
    return problems


ATEN_NAMES = {"logsigmoid": "log_sigmoid"}  # F names whose ATen operator is spelled differently


def _api_id(entry):
    return f"{entry[0]}.{entry[1]}"


@pytest.mark.parametrize("entry", API, ids=_api_id)
def test_listed_op_exists_where_torch_has_it(entry):
    namespace, name = entry
    e_ns, t_ns = NAMESPACES[namespace]
    if not hasattr(t_ns, name) and entry not in EMBER_EXTRAS:
        pytest.skip(f"torch has no {namespace}.{name}")
    assert callable(getattr(e_ns, name, None)), f"ember lacks {namespace}.{name}, which torch has"


# signature gaps that are bugs (kept failing on purpose, so each fix shows up as an XPASS)
SIGNATURE_BUGS: dict = {}


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, marks=pytest.mark.xfail(strict=True, reason=SIGNATURE_BUGS[e])) if e in SIGNATURE_BUGS else e
        for e in API
        if e not in EMBER_EXTRAS
    ],
    ids=_api_id,
)
def test_listed_op_takes_torchs_parameters(entry):
    namespace, name = entry
    e_ns, t_ns = NAMESPACES[namespace]
    e_obj, t_obj = getattr(e_ns, name, None), getattr(t_ns, name, None)
    if t_obj is None or e_obj is None or isinstance(t_obj, type):
        pytest.skip("not in both (existence is checked separately) or a class")
    aten = ("linalg_" + name) if namespace == "linalg" else ATEN_NAMES.get(name, name)
    problems = _signature_problems(e_obj, t_obj, aten, method=namespace == "Tensor")
    if entry in SIGNATURE_EXCEPTIONS:
        assert problems, f"{entry} matches torch now: drop it from SIGNATURE_EXCEPTIONS"
        return
    assert not problems, f"{namespace}.{name}{inspect.signature(e_obj)}: " + " | ".join(problems)


# =========================================================================== gap fillers
LAYOUTS = ["transposed", "sliced"]


def _noncontig(a: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``a`` in a non-contiguous array (reversed strides, or every other column)."""
    if layout == "transposed":
        return np.ascontiguousarray(a.T).T
    big = np.zeros(a.shape[:-1] + (a.shape[-1] * 2,), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def _ints(shape, high, low=0):
    return np.random.default_rng(7).integers(low, high, shape).astype(np.int64)


def _with_specials(shape):
    a = make_array(shape)
    flat = a.reshape(-1)
    flat[::3] = np.nan
    flat[1::5] = np.inf
    flat[2::7] = -np.inf
    return a


# --------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_float_predicates_0d_and_non_contiguous(name):
    ef, tf = getattr(em, name), getattr(torch, name)
    for v in (np.nan, np.inf, -np.inf, 1.5):
        check_op(None, ef, tf, inputs=[np.array(v, np.float32)], grad=False)
    for layout in LAYOUTS:
        check_op(None, ef, tf, inputs=[_noncontig(_with_specials((4, 6)), layout)], grad=False)
        check_op(
            None,
            lambda x, n=name: getattr(x, n)(),
            lambda x, n=name: getattr(x, n)(),
            inputs=[_noncontig(_with_specials((3, 5)), layout)],
            grad=False,
        )


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("dtype", [np.bool_, np.float32, np.int64])
def test_logical_binary_0d_size0_non_contiguous_and_broadcast(name, dtype):
    ef, tf = getattr(em, name), getattr(torch, name)
    for shapes in ([(), ()], [(), (3,)], [(0, 3), (3,)], [(0,), ()], [(2, 1, 3), (4, 1)]):
        check_op(shapes, ef, tf, dtype=dtype, low=-1, high=2, grad=False)
    for layout in LAYOUTS:
        check_op([(3, 4), (3, 4)], ef, tf, dtype=dtype, low=-1, high=2, layout=layout, grad=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.float32, np.int64])
def test_logical_not_0d_size0_and_non_contiguous(dtype):
    for shape in [(), (0,), (2, 0)]:
        check_op([shape], em.logical_not, torch.logical_not, dtype=dtype, low=-1, high=2, grad=False)
    for layout in LAYOUTS:
        check_op([(3, 4)], em.logical_not, torch.logical_not, dtype=dtype, low=-1, high=2, layout=layout, grad=False)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.int64])
def test_bitwise_binary_0d_size0_and_non_contiguous(name, dtype):
    ef, tf = getattr(em, name), getattr(torch, name)
    for shapes in ([(), ()], [(), (3,)], [(0, 3), (1, 3)], [(2, 1, 3), (4, 1)]):
        check_op(shapes, ef, tf, dtype=dtype, low=-8, high=8, grad=False)
    for layout in LAYOUTS:
        check_op([(3, 4), (3, 4)], ef, tf, dtype=dtype, low=-8, high=8, layout=layout, grad=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.int64])
def test_bitwise_not_0d_size0_and_non_contiguous(dtype):
    for shape in [(), (0,), (2, 0)]:
        check_op([shape], em.bitwise_not, torch.bitwise_not, dtype=dtype, low=-8, high=8, grad=False)
    for layout in LAYOUTS:
        check_op([(3, 4)], em.bitwise_not, torch.bitwise_not, dtype=dtype, low=-8, high=8, layout=layout, grad=False)


@pytest.mark.parametrize("name", ["clamp", "clip"])
def test_clamp_and_clip_shape_classes(name):
    def fn(x, lo=None, hi=None):
        return getattr(em if isinstance(x, em.Tensor) else torch, name)(x, lo, hi)

    for shape in [(), (0,), (2, 0, 3)]:
        check_op([shape], lambda x: fn(x, -0.5, 0.7))
    for layout in LAYOUTS:
        check_op([(4, 5)], lambda x: fn(x, -0.5, 0.7), layout=layout)
        check_op([(4, 5)], lambda x: fn(x, hi=0.3), layout=layout)
        # tensor bounds broadcast against the input, every input differentiable
        check_op([(4, 5), (5,), (4, 1)], lambda x, lo, hi: fn(x, lo - 1, hi + 1), layout=layout)
    check_op([(), (), ()], lambda x, lo, hi: fn(x, lo - 1, hi + 1))
    check_op([(2, 3), (), (2, 1)], lambda x, lo, hi: fn(x, lo - 1, hi + 1))
    check_gradcheck([(3, 4)], lambda x: fn(x, -0.5, 0.7))
    check_gradcheck([(3, 4), (4,), (3, 1)], lambda x, lo, hi: fn(x, lo - 1, hi + 1))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_where_non_contiguous(layout):
    cond = _noncontig(make_array((4, 5), np.bool_), layout)
    x, y = _noncontig(make_array((4, 5)), layout), _noncontig(make_array((4, 5)), layout)
    check_op(None, lambda c, a, b: (em if isinstance(a, em.Tensor) else torch).where(c, a, b), inputs=[cond, x, y])
    check_op(None, lambda c, a, b: a.where(c, b), inputs=[cond, x, y[0]])


def test_where_size0_and_0d_condition():
    check_op(
        None,
        lambda c, a, b: (em if isinstance(a, em.Tensor) else torch).where(c, a, b),
        inputs=[np.zeros((0, 3), bool), make_array((1, 3)), make_array((0, 1))],
    )
    check_op(
        None,
        lambda c, a, b: (em if isinstance(a, em.Tensor) else torch).where(c, a, b),
        inputs=[np.array(True), make_array((2, 3)), make_array(())],
    )


def test_lerp_size0_non_contiguous_and_tensor_weight():
    lerp = lambda a, b, w: a.lerp(b, w)  # noqa: E731
    check_op([(0, 3), (3,)], lambda a, b: a.lerp(b, 0.3))
    check_op([(0, 3), (0, 1), (3,)], lerp)
    for layout in LAYOUTS:
        check_op([(4, 5), (4, 5)], lambda a, b: a.lerp(b, 0.3), layout=layout)
        check_op([(4, 5), (4, 5), (4, 5)], lerp, layout=layout, low=0, high=1)
    check_gradcheck([(3, 4), (4,), (3, 1)], lerp)


# --------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dtype", [np.bool_, np.float32, np.int64])
def test_all_any_0d_and_non_contiguous(name, dtype):
    calls = [lambda x: getattr(x, name)(), lambda x: getattr(x, name)(0), lambda x: getattr(x, name)(-1, True)]
    for fn in calls:
        check_op([()], fn, dtype=dtype, low=0, high=2, grad=False)
    for layout in LAYOUTS:
        for fn in calls + [lambda x: getattr(x, name)(1)]:
            check_op([(4, 5)], fn, dtype=dtype, low=0, high=2, layout=layout, grad=False)


@pytest.mark.parametrize("name", ["amax", "amin", "argmax", "argmin", "max", "min", "median", "mode", "logsumexp"])
def test_reductions_over_a_nonempty_dim_of_a_size0_tensor(name):
    # (0, 4) reduced over dim 1 gives (0,): nothing to reduce is not an error here
    check_op([(0, 4)], lambda x: getattr(x, name)(1))
    check_op([(3, 0, 4)], lambda x: getattr(x, name)(-1, keepdim=True))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mode_non_contiguous(layout):
    x = np.round(make_array((5, 6)) * 2).astype(np.float32)  # repeated values so the mode is not trivial
    check_op(None, lambda t: t.mode(1), inputs=[_noncontig(x, layout)])
    check_op(None, lambda t: t.mode(0, True), inputs=[_noncontig(x, layout)])


# --------------------------------------------------------------------------- shape
def test_view_0d_size0_and_gradcheck():
    check_op([()], lambda x: x.view(1))
    check_op([(1, 1)], lambda x: x.view(()))
    check_op([()], lambda x: x.view(-1))
    check_op([(0, 3)], lambda x: x.view(3, 0))
    check_op([(2, 0, 3)], lambda x: x.view(-1, 3))
    check_gradcheck([(2, 3, 4)], lambda x: x.view(6, 4) * x.view(6, 4))


def test_permute_0d_and_movedim_swapaxes_0d_size0():
    check_op([()], lambda x: x.permute(()) * 2)
    for shape in [(), (2, 0, 3)]:
        check_op([shape], lambda x: x.movedim(0, -1) * 2)
        check_op([shape], lambda x: x.swapaxes(0, -1) * 2)
        check_op([shape], lambda x: x.transpose(0, -1) * 2)
    check_op([(0, 3, 1)], lambda x: (em if isinstance(x, em.Tensor) else torch).swapaxes(x, 0, 1))
    check_op([(0, 3, 1)], lambda x: x.movedim((0, 1), (2, 0)))


def test_swapaxes_and_movedim_gradcheck():
    check_gradcheck([(2, 3, 4)], lambda x: x.swapaxes(0, 2) ** 2)
    check_gradcheck([(2, 3, 4)], lambda x: x.movedim((0, 1), (2, 0)) ** 2)


def test_expand_broadcast_to_and_expand_as_size0_0d_and_gradcheck():
    check_op([(0, 1)], lambda x: x.expand(0, 3))
    check_op([(1,)], lambda x: x.expand(2, 0))
    check_op([(0, 1)], lambda x: x.broadcast_to((2, 0, 3)))
    check_op([(), (2, 3)], lambda x, y: x.expand_as(y) * y)
    check_op([(1, 3), (0, 3)], lambda x, y: x.expand_as(y) * y)
    for layout in LAYOUTS:
        check_op([(3, 1), (3, 4)], lambda x, y: x.expand_as(y) * y, layout=layout)
    check_gradcheck([(3, 1)], lambda x: x.broadcast_to((2, 3, 4)) ** 2)
    check_gradcheck([(3, 1), (2, 3, 4)], lambda x, y: x.expand_as(y) * y)


def test_tile_0d():
    check_op([()], lambda x: x.tile((2, 3)))
    check_op([()], lambda x: x.tile(()) * 2)


def test_concat_gradcheck_and_0d_inputs_raise_like_torch():
    check_gradcheck([(2, 3), (1, 3)], lambda a, b: em.concat([a, b], 0))
    with pytest.raises(ValueError, match="cat"):
        em.cat([em.zeros(()), em.zeros(())])
    with pytest.raises(RuntimeError):
        torch.cat([torch.zeros(()), torch.zeros(())])


@pytest.mark.parametrize("name", ["hstack", "vstack"])
def test_hstack_vstack_size0_and_non_contiguous(name):
    fn = lambda *xs: getattr(em if isinstance(xs[0], em.Tensor) else torch, name)(xs)  # noqa: E731
    check_op([(0, 3), (0, 3)], fn) if name == "hstack" else check_op([(0, 3), (2, 3)], fn)
    check_op([(2, 0), (2, 3)], fn) if name == "hstack" else check_op([(2, 0), (3, 0)], fn)
    for layout in LAYOUTS:
        check_op([(3, 4), (3, 4)], fn, layout=layout)


def test_narrow_size0():
    check_op([(3, 4)], lambda x: x.narrow(1, 2, 0))
    check_op([(0, 4)], lambda x: x.narrow(1, 1, 2))


# --------------------------------------------------------------------------- indexing
def _ns(x):
    return em if isinstance(x, em.Tensor) else torch


def test_gather_take_along_dim_and_masked_select_0d():
    x, i = make_array(()), np.array(0, np.int64)
    check_op(None, lambda x, i: _ns(x).gather(x, 0, i), inputs=[x, i])
    check_op(None, lambda x, i: _ns(x).take_along_dim(x, i), inputs=[x, i])  # dim=None: flattened
    check_op(None, lambda x, m: x.masked_select(m), inputs=[x, np.array(True)])
    check_op(None, lambda x, m: x.masked_select(m), inputs=[make_array((2, 3)), np.array(False)])


def test_scatter_0d():
    check_op(None, lambda x, i, s: x.scatter(0, i, s), inputs=[make_array(()), np.array(0, np.int64), make_array(())])


def test_scatter_add_0d():
    check_op(
        None, lambda x, i, s: x.scatter_add(0, i, s), inputs=[make_array(()), np.array(0, np.int64), make_array(())]
    )


# 0-d operands act as 1-d of size 1 (torch's rule), in any combination with 1-d ones
ZERO_D_ALONG = [
    ((), (), ()),
    ((), (1,), (1,)),
    ((), (), (2,)),
    ((3,), (), ()),
    ((3,), (), (2,)),
]


@pytest.mark.parametrize("xs,ishape,ss", ZERO_D_ALONG, ids=str)
@pytest.mark.parametrize("op", ["scatter", "scatter_add", "scatter_reduce_amax", "scatter_reduce_mean"])
def test_scatter_family_mixes_0d_and_1d(op, xs, ishape, ss):
    index = np.full(ishape, 1 if xs else 0, np.int64)

    def fn(x, s):
        i = _ns(x).tensor(index)
        if op.startswith("scatter_reduce"):
            return x.scatter_reduce(0, i, s, op.rsplit("_", 1)[1])
        return getattr(x, op)(0, i, s)

    # torch's backward fails for a 0-d index with a larger src ("invalid gradient ... got []"): gradcheck only
    check_op([xs, ss], fn, grad=not (ishape == () and ss == (2,)))
    check_gradcheck([xs, ss], fn)


@pytest.mark.parametrize("xs,ishape", [((), ()), ((), (1,)), ((3,), ())], ids=str)
def test_gather_and_scatter_value_mix_0d_and_1d(xs, ishape):
    index = np.full(ishape, 1 if xs else 0, np.int64)
    check_op(None, lambda x, i: x.gather(0, i), inputs=[make_array(xs), index])
    check_op(None, lambda x, i: x.scatter(0, i, 2.5), inputs=[make_array(xs), index])


def test_index_ops_on_size0():
    x = make_array((3, 4))
    empty_index = np.zeros((3, 0), np.int64)
    # src as large as the index: torch's own scatter backward rejects a larger src with an empty index
    check_op(None, lambda x, i, s: x.scatter(1, i, s), inputs=[x, empty_index, make_array((3, 0))])
    check_op(None, lambda x, i, s: x.scatter_add(1, i, s), inputs=[x, empty_index, make_array((3, 0))])
    check_op(
        None,
        lambda x, i, s: x.scatter_add(0, i, s),
        inputs=[make_array((0, 4)), np.zeros((0, 4), np.int64), make_array((0, 4))],
    )
    check_op(None, lambda x, i: x.index_select(1, i), inputs=[x, np.zeros(0, np.int64)])
    check_op(None, lambda x, i: x.index_select(1, i), inputs=[make_array((0, 4)), np.array([3, 0, 3])])
    check_op(None, lambda x, m: x.masked_fill(m, 2.5), inputs=[make_array((0, 4)), np.ones((1, 4), bool)])
    check_op(None, lambda x, m: x.masked_select(m), inputs=[make_array((0, 4)), np.ones((4,), bool)])
    check_op(None, lambda x, m: x.masked_select(m), inputs=[x, np.zeros((3, 4), bool)])
    check_op(None, lambda x, i: _ns(x).take_along_dim(x, i, 1), inputs=[x, empty_index])
    check_op(None, lambda x, i: _ns(x).take_along_dim(x, i, 1), inputs=[make_array((0, 4)), np.zeros((0, 2), np.int64)])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_index_ops_non_contiguous(layout):
    x = _noncontig(make_array((4, 6)), layout)
    idx = _noncontig(_ints((4, 6), 6), layout)
    src = _noncontig(make_array((4, 6)), layout)
    check_op(None, lambda x, i, s: x.scatter_add(1, i, s), inputs=[x, idx, src])
    check_op(None, lambda x, i, s: x.scatter(1, i, s), inputs=[x, _noncontig(_ints((4, 6), 6), layout), src])
    check_op(None, lambda x, i: _ns(x).take_along_dim(x, i, 1), inputs=[x, idx])
    check_op(None, lambda x, i: x.gather(1, i), inputs=[x, idx])
    mask = _noncontig(make_array((4, 6), np.bool_), layout)
    check_op(None, lambda x, m: x.masked_select(m), inputs=[x, mask])
    check_op(None, lambda x, m: x.masked_fill(m, -1.0), inputs=[x, mask])


def test_take_along_dim_broadcasts_input_and_indices():
    # torch broadcasts every dimension except ``dim`` between input and indices
    check_op(None, lambda x, i: _ns(x).take_along_dim(x, i, 2), inputs=[make_array((1, 3, 5)), _ints((4, 1, 2), 5)])
    check_op(None, lambda x, i: _ns(x).take_along_dim(x, i, 0), inputs=[make_array((5, 3)), _ints((2, 1), 5)])
    check_gradcheck(
        None,
        lambda x: em.take_along_dim(x, em.tensor(_ints((4, 1, 2), 5)), 2),
        inputs=[make_array((1, 3, 5), np.float64)],
    )


# --------------------------------------------------------------------------- linear algebra
def test_matrix_products_with_size0_dims():
    for a, b in [((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0))]:
        check_op([a, b], lambda x, y: _ns(x).mm(x, y))
        check_op([a, b], lambda x, y: x @ y)
    for a, b in [((0, 3, 4), (0, 4, 2)), ((2, 3, 0), (2, 0, 5)), ((2, 0, 4), (2, 4, 3))]:
        check_op([a, b], lambda x, y: _ns(x).bmm(x, y))
    check_op([(0, 3), (3,)], lambda m, v: m.mv(v))
    check_op([(3, 0), (0,)], lambda m, v: m.mv(v))
    check_op([(0,), (0,)], lambda a, b: a.dot(b))
    check_op([(0,), (3,)], lambda a, b: a.outer(b))
    check_op([(0, 3), (3, 4)], lambda x, y: _ns(x).einsum("ij,jk->ik", x, y))
    check_op([(3, 0), (0, 4)], lambda x, y: _ns(x).einsum("ij,jk->ik", x, y))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mv_and_outer_non_contiguous(layout):
    check_op([(4, 5), (5,)], lambda m, v: m.mv(v), layout=layout)
    check_op([(4,), (5,)], lambda a, b: a.outer(b), layout=layout)
    check_op([(6,), (6,)], lambda a, b: a.dot(b), layout=layout)


def test_mm_dot_outer_gradcheck():
    check_gradcheck([(3, 4), (4, 2)], em.mm)
    check_gradcheck([(5,), (5,)], em.dot)
    check_gradcheck([(3,), (4,)], em.outer)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_linalg_non_contiguous(layout):
    def well_conditioned(n):
        return (make_array((n, n)) + 4 * np.eye(n)).astype(np.float32)

    for ord_ in (None, 1, 2, float("inf"), "fro"):
        dim = None if ord_ in (None, 2) else (0, 1) if ord_ == "fro" else 1
        check_op([(4, 5)], lambda x, o=ord_, d=dim: _ns(x).linalg.norm(x, o, d), layout=layout, atol=1e-4)
    a = _noncontig(well_conditioned(4), layout)
    check_op(None, lambda x: _ns(x).linalg.inv(x), inputs=[a], atol=1e-4, rtol=1e-3)
    check_op(None, lambda x: _ns(x).linalg.det(x), inputs=[a], atol=1e-4, rtol=1e-3)
    check_op(
        None,
        lambda x, b: _ns(x).linalg.solve(x, b),
        inputs=[a, _noncontig(make_array((4, 3)), layout)],
        atol=1e-4,
        rtol=1e-3,
    )


def test_linalg_batch_of_zero_matrices():
    check_op([(0, 3, 3)], lambda x: _ns(x).linalg.inv(x))
    check_op([(0, 3, 3)], lambda x: _ns(x).linalg.det(x))
    check_op([(0, 3, 3), (0, 3, 2)], lambda x, b: _ns(x).linalg.solve(x, b))
    check_op([(0, 4)], lambda x: _ns(x).linalg.norm(x, dim=1))


def test_linalg_norm_gradcheck():
    check_gradcheck([(3, 4)], lambda x: em.linalg.norm(x))
    check_gradcheck([(3, 4)], lambda x: em.linalg.norm(x, 1, 1))
    check_gradcheck([(3, 4)], lambda x: em.linalg.norm(x, "fro", (0, 1)))
    check_gradcheck([(3, 4)], lambda x: em.linalg.norm(x, 3.0, 0))


# --------------------------------------------------------------------------- nn.functional
def _fns(x):
    return F if isinstance(x, em.Tensor) else TF


@pytest.mark.parametrize("layout", ["contiguous", *LAYOUTS])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(layout, bias):
    shapes = [(4, 3), (4, 5), (2, 3, 5)] + ([(2,)] if bias else [])
    check_op(shapes, lambda a, b, w, *bb: _fns(a).bilinear(a, b, w, *bb), layout=layout)
    check_op([(2, 3, 3), (2, 3, 5), (2, 3, 5)], lambda a, b, w: _fns(a).bilinear(a, b, w))  # extra batch dims
    check_op([(0, 3), (0, 5), (2, 3, 5)], lambda a, b, w: _fns(a).bilinear(a, b, w))
    check_op([(3,), (5,), (2, 3, 5)], lambda a, b, w: _fns(a).bilinear(a, b, w))  # unbatched


def test_bilinear_gradcheck():
    check_gradcheck([(3, 2), (3, 4), (5, 2, 4), (5,)], F.bilinear)


def test_one_hot_0d_and_size0():
    for idx, n in [
        (np.array(2), 4),
        (np.zeros(0, np.int64), 3),
        (np.zeros((2, 0), np.int64), 5),
        (_ints((2, 3), 4), -1),
    ]:
        check_op(None, lambda i, n=n: _fns(i).one_hot(i, n), inputs=[idx.astype(np.int64)], grad=False)


CONVS = [
    ("conv1d", (0, 4, 9), (6, 4, 3), {"dilation": 2}),
    ("conv2d", (0, 4, 7, 6), (6, 4, 3, 3), {"padding": 1}),
    ("conv3d", (0, 2, 5, 4, 4), (3, 2, 2, 2, 2), {"stride": 2}),
    ("conv_transpose1d", (0, 4, 5), (4, 3, 3), {"stride": 2}),
    ("conv_transpose2d", (0, 4, 5, 5), (4, 3, 3, 3), {"output_padding": 1, "stride": 2}),
]


@pytest.mark.parametrize("name,x,w,kw", CONVS, ids=[c[0] for c in CONVS])
def test_conv_with_an_empty_batch(name, x, w, kw):
    check_op([x, w], lambda a, b, n=name, kw=kw: getattr(_fns(a), n)(a, b, **kw))


@pytest.mark.parametrize("name,x,w", [("conv1d", (0, 4, 9), (6, 2, 3)), ("conv2d", (0, 4, 5, 5), (6, 2, 3, 3))])
def test_grouped_conv_with_an_empty_batch(name, x, w):
    check_op([x, w], lambda a, b, n=name: getattr(_fns(a), n)(a, b, groups=2))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv_transpose1d_non_contiguous(layout):
    check_op(
        [(2, 4, 6), (4, 3, 3), (3,)],
        lambda x, w, b: _fns(x).conv_transpose1d(x, w, b, stride=2, padding=1, dilation=2),
        layout=layout,
        atol=1e-4,
    )


POOLS = [
    ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool3d", (2, 2, 5, 6, 4), {"kernel_size": 2, "ceil_mode": True}),
    ("avg_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ("avg_pool3d", (2, 2, 5, 6, 4), {"kernel_size": 2, "ceil_mode": True}),
    ("adaptive_avg_pool1d", (2, 3, 9), {"output_size": 4}),
    ("adaptive_avg_pool2d", (2, 3, 7, 5), {"output_size": (3, 2)}),
    ("adaptive_max_pool1d", (2, 3, 9), {"output_size": 4}),
    ("adaptive_max_pool2d", (2, 3, 7, 5), {"output_size": (3, 2)}),
    ("lp_pool2d", (2, 3, 6, 6), {"norm_type": 2.0, "kernel_size": 2}),
    ("pixel_shuffle", (2, 8, 3, 2), {"upscale_factor": 2}),
    ("unfold", (2, 3, 5, 6), {"kernel_size": (2, 3), "padding": 1, "stride": 2}),
    ("local_response_norm", (2, 6, 4, 3), {"size": 3}),
    ("normalize", (4, 6, 3), {"dim": 1}),
    ("glu", (4, 6), {"dim": 1}),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,shape,kw", POOLS, ids=[p[0] for p in POOLS])
def test_pool_like_ops_non_contiguous(name, shape, kw, layout):
    # values spread out so max-pool ties cannot pick different winners
    x = (np.random.default_rng(3).permutation(int(np.prod(shape))).reshape(shape) / 7.0).astype(np.float32)
    check_op(None, lambda t, n=name, kw=kw: getattr(_fns(t), n)(t, **kw), inputs=[_noncontig(x, layout)], atol=1e-4)


@pytest.mark.parametrize("name,shape,kw", POOLS, ids=[p[0] for p in POOLS])
def test_pool_like_ops_with_an_empty_batch(name, shape, kw):
    # torch's own PixelShuffleBackward0 rejects the empty gradient it makes, so only the forward there
    grad = name != "pixel_shuffle"
    check_op([(0,) + shape[1:]], lambda t, n=name, kw=kw: getattr(_fns(t), n)(t, **kw), grad=grad)


def test_adaptive_avg_pool1d_gradcheck():
    check_gradcheck([(2, 3, 7)], lambda x: F.adaptive_avg_pool1d(x, 3))
    check_gradcheck([(2, 3, 7)], lambda x: F.adaptive_avg_pool1d(x, 5))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_unpool2d_and_fold_non_contiguous(layout):
    x = np.random.default_rng(4).permutation(2 * 3 * 6 * 4).reshape(2, 3, 6, 4).astype(np.float32)
    values, indices = TF.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    check_op(
        None,
        lambda v, i: _fns(v).max_unpool2d(v, i, 2),
        inputs=[_noncontig(values.numpy(), layout), _noncontig(indices.numpy(), layout)],
    )
    check_op(
        None,
        lambda c: _fns(c).fold(c, (4, 5), (2, 2), padding=1),
        inputs=[_noncontig(make_array((2, 12, 30)), layout)],
    )


NORMS = [
    ("group_norm", lambda f, x, w, b: f.group_norm(x, 2, w, b)),
    ("instance_norm", lambda f, x, w, b: f.instance_norm(x, weight=w, bias=b)),
    ("rms_norm", lambda f, x, w, b: f.rms_norm(x, (5,), w)),
    ("layer_norm", lambda f, x, w, b: f.layer_norm(x, (5,), w, b)),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,call", NORMS, ids=[n[0] for n in NORMS])
def test_norms_non_contiguous(name, call, layout):
    x = _noncontig(make_array((3, 4, 6, 5)), layout)
    c = 5 if name in ("rms_norm", "layer_norm") else 4
    w, b = make_array((c,)), make_array((c,))
    check_op(None, lambda x, w, b: call(_fns(x), x, w, b), inputs=[x, w, b], atol=1e-4, rtol=1e-3)


def test_norms_with_an_empty_batch_in_eval_and_for_per_sample_norms():
    check_op([(0, 4, 5), (4,), (4,)], lambda x, w, b: _fns(x).group_norm(x, 2, w, b))
    check_op([(0, 4, 5)], lambda x: _fns(x).rms_norm(x, (5,)))
    check_op(
        None,
        lambda x, m, v: _fns(x).batch_norm(x, m, v, training=False),
        inputs=[make_array((0, 3, 4)), make_array((3,)), make_array((3,), low=0.5, high=2)],
    )


def test_glu_and_prelu_size0():
    check_op([(0, 6)], lambda x: _fns(x).glu(x, -1))
    check_op([(3, 0)], lambda x: _fns(x).glu(x, 1))
    check_op([(0, 3, 4), (3,)], lambda x, w: _fns(x).prelu(x, w))
    check_op([(2, 3, 0), (1,)], lambda x, w: _fns(x).prelu(x, w))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_embedding_bag_non_contiguous_weight(mode, layout):
    weight = _noncontig(make_array((7, 4)), layout)
    idx = _ints((3, 4), 7)
    check_op(None, lambda i, w: _fns(w).embedding_bag(i, w, mode=mode), inputs=[idx, weight])
    flat, offsets = _ints((9,), 7), np.array([0, 2, 2, 6], np.int64)
    check_op(None, lambda i, o, w: _fns(w).embedding_bag(i, w, o, mode=mode), inputs=[flat, offsets, weight])


def test_scaled_dot_product_attention_size0():
    sdpa = lambda q, k, v: _fns(q).scaled_dot_product_attention(q, k, v)  # noqa: E731
    check_op([(0, 3, 4), (0, 5, 4), (0, 5, 6)], sdpa)
    check_op([(2, 0, 4), (2, 5, 4), (2, 5, 6)], sdpa)
    check_op([(2, 3, 4), (2, 0, 4), (2, 0, 6)], sdpa, grad=False)  # no keys: torch gives NaN rows
    check_op([(2, 3, 4), (2, 5, 4), (2, 5, 0)], sdpa)


def test_scaled_dot_product_attention_empty_feature_dim():
    check_op([(2, 3, 0), (2, 5, 0), (2, 5, 6)], lambda q, k, v: _fns(q).scaled_dot_product_attention(q, k, v))


# --------------------------------------------------------------------------- dropout
DROPOUTS = [
    ("dropout", (4, 6)),
    ("dropout1d", (3, 4, 5)),
    ("dropout2d", (2, 3, 4, 5)),
    ("dropout3d", (2, 3, 2, 3, 4)),
    ("alpha_dropout", (4, 6)),
]
SELU_ALPHA = 1.7580993408473766  # -scale * alpha of SELU: alpha_dropout's value for a dropped unit


@pytest.mark.parametrize("name,shape", DROPOUTS, ids=[d[0] for d in DROPOUTS])
def test_dropout_gradcheck_with_a_fixed_mask(name, shape):
    def fn(x):
        em.manual_seed(5)  # the same mask on every call the finite differences make
        return getattr(F, name)(x, 0.4, training=True)

    check_gradcheck([shape], fn)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,shape", DROPOUTS, ids=[d[0] for d in DROPOUTS])
def test_dropout_non_contiguous_matches_torch_on_the_same_mask(name, shape, layout):
    p = 0.4
    a = 1.0 / np.sqrt((SELU_ALPHA**2 * p + 1) * (1 - p))
    dropped = -SELU_ALPHA * a + SELU_ALPHA * a * p
    mask = {}

    def ember_fn(x):
        out = getattr(F, name)(x, p, training=True)
        mask["keep"] = np.abs(out.data - dropped) > 1e-6 if name == "alpha_dropout" else out.data != 0
        return out

    def torch_fn(x):  # torch's formulas (ATen _dropout_impl) applied to ember's mask
        keep = torch.from_numpy(np.ascontiguousarray(mask["keep"])).to(x.dtype)
        if name == "alpha_dropout":
            return x * keep * a + (keep - 1) * SELU_ALPHA * a + SELU_ALPHA * a * p
        return x * keep / (1 - p)

    check_op([shape], ember_fn, torch_fn, layout=layout)
    assert 0 < mask["keep"].mean() < 1


# --------------------------------------------------------------------------- losses
REDUCTIONS = ["none", "mean", "sum"]
# name -> (input ranges per operand, extra keyword arguments)
ELEMENTWISE_LOSSES = {
    "mse_loss": ([(-2, 2), (-2, 2)], {}),
    "l1_loss": ([(-2, 2), (-2, 2)], {}),
    "smooth_l1_loss": ([(-2, 2), (-2, 2)], {"beta": 0.5}),
    "huber_loss": ([(-2, 2), (-2, 2)], {"delta": 0.7}),
    "kl_div": ([(-3, -0.1), (0.05, 1)], {}),
    "poisson_nll_loss": ([(-1, 1), (0, 3)], {}),
    "binary_cross_entropy": ([(0.05, 0.95), (0, 1)], {}),
    "binary_cross_entropy_with_logits": ([(-3, 3), (0, 1)], {}),
    "soft_margin_loss": ([(-2, 2), (-1, 1)], {}),
}


def _loss_inputs(name, shape, layout="contiguous"):
    ranges, _ = ELEMENTWISE_LOSSES[name]
    arrays = [make_array(shape, np.float32, lo, hi) for lo, hi in ranges]
    if name == "soft_margin_loss":
        arrays[1] = np.sign(arrays[1]) + (arrays[1] == 0)
    return [a if layout == "contiguous" or a.ndim < 1 else _noncontig(a, layout) for a in arrays]


def _elementwise_loss(name, reduction):
    kw = dict(ELEMENTWISE_LOSSES[name][1], reduction=reduction)
    if name == "soft_margin_loss":  # torch has no gradient for its target: pass it as a constant
        return lambda x, t: getattr(_fns(x), name)(x, t.detach(), **kw)
    return lambda x, t: getattr(_fns(x), name)(x, t, **kw)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's kl_div notice
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(ELEMENTWISE_LOSSES))
def test_elementwise_losses_0d_size0_and_non_contiguous(name, reduction):
    fn = _elementwise_loss(name, reduction)
    for shape in [(), (0,), (2, 0, 3)]:  # an empty mean is NaN in both
        check_op(None, fn, inputs=_loss_inputs(name, shape))
    for layout in LAYOUTS:
        check_op(None, fn, inputs=_loss_inputs(name, (4, 5), layout))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_class_losses_non_contiguous_and_empty_batch(layout):
    for reduction in REDUCTIONS:
        x = _noncontig(make_array((5, 4)), layout)
        y = _ints((5,), 4)
        check_op(None, lambda x, y, r=reduction: _fns(x).nll_loss(x, y, reduction=r), inputs=[x, y])
        check_op(None, lambda x, y, r=reduction: _fns(x).multi_margin_loss(x, y, reduction=r), inputs=[x, y])
        check_op(
            None,
            lambda x, y, r=reduction: _fns(x).nll_loss(x, y, reduction=r),
            inputs=[make_array((0, 4)), np.zeros(0, np.int64)],
        )
        check_op(
            None,
            lambda a, b, t, r=reduction: _fns(a).margin_ranking_loss(a, b, t, margin=0.2, reduction=r),
            inputs=[
                _noncontig(make_array((3, 4)), layout),
                _noncontig(make_array((3, 4)), layout),
                _noncontig(np.sign(make_array((3, 4))), layout),
            ],
        )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_distance_losses_non_contiguous(layout):
    a, p, n = (_noncontig(make_array((4, 6)), layout) for _ in range(3))
    check_op(None, lambda a, p, n: _fns(a).triplet_margin_loss(a, p, n, margin=0.5), inputs=[a, p, n])
    check_op(None, lambda a, p: _fns(a).pairwise_distance(a, p), inputs=[a, p])
    target = np.array([1, -1, 1, -1], np.float32)
    check_op(None, lambda a, p, t: _fns(a).cosine_embedding_loss(a, p, t, margin=0.1), inputs=[a, p, target])
    check_op(None, lambda a, t: _fns(a).hinge_embedding_loss(a, t), inputs=[a, np.sign(make_array((6, 4))).T])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gaussian_nll_and_ctc_non_contiguous(layout):
    x, t = _noncontig(make_array((4, 5)), layout), _noncontig(make_array((4, 5)), layout)
    var = _noncontig(make_array((4, 5), low=0.2, high=2), layout)
    check_op(None, lambda x, t, v: _fns(x).gaussian_nll_loss(x, t, v), inputs=[x, t, var])
    logits = _noncontig(make_array((8, 2, 5)), layout)
    log_probs = _noncontig(torch.from_numpy(np.ascontiguousarray(logits)).log_softmax(-1).numpy(), layout)
    targets, in_len, tgt_len = _ints((2, 3), 5, low=1), np.array([8, 7]), np.array([3, 2])
    # torch's ctc_loss gradient is the one through a log_softmax, so gradients are compared through one
    ctc = lambda lp, y, il, tl: _fns(lp).ctc_loss(lp, y, il, tl)  # noqa: E731
    check_op(None, ctc, inputs=[log_probs, targets, in_len, tgt_len], atol=1e-4, grad=False)
    check_op(
        None,
        lambda z, y, il, tl: ctc(_fns(z).log_softmax(z, -1), y, il, tl),
        inputs=[logits, targets, in_len, tgt_len],
        atol=1e-4,
    )
