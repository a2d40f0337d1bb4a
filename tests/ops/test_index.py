"""Indexing ops against PyTorch: getitem/setitem, gather/scatter, index_*, masks, take/put."""

import numpy as np
import pytest
import torch

import ember as em
from ember.autograd import gradgradcheck
from tests.helpers import check_gradcheck, check_op, rng


def _idx(*arrays):
    """The same integer/bool arrays as ember and torch tensors."""
    arrs = [np.asarray(a) for a in arrays]
    return [em.tensor(a) for a in arrs], [torch.tensor(a) for a in arrs]


# ---------------------------------------------------------------- getitem, basic
BASIC_KEYS = [
    (1,),
    (-1,),
    (slice(1, 3),),
    (slice(None, None, 2),),
    (slice(None), 2),
    (Ellipsis, 1),
    (None, slice(None), None),
    (1, None, Ellipsis, slice(0, 2)),
    (slice(-3, None), slice(None), slice(1, 4, 2)),
    (0, 0, 0),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_getitem_basic(key, layout):
    check_op([(4, 3, 5)], lambda x: x[key], layout=layout)


def test_getitem_basic_is_a_view():
    x = em.arange(12.0).reshape(3, 4)
    y = x[1:, ::2]
    assert np.shares_memory(x.data, y.data)
    x[1, 0] = 100.0
    assert y[0, 0].item() == 100.0


@pytest.mark.parametrize(
    "key",
    [
        (slice(None, None, -1),),
        (slice(None, None, -2),),
        (slice(4, 0, -2), slice(None)),
        (slice(None), slice(3, None, -1)),
    ],
    ids=repr,
)
def test_getitem_negative_step_matches_numpy(key):
    x = rng().standard_normal((5, 4)).astype(np.float32)
    t = em.tensor(x, requires_grad=True)
    y = t[key]
    np.testing.assert_array_equal(y.data, x[key])
    g = rng().standard_normal(y.shape).astype(np.float32)
    y.backward(em.tensor(g))
    expected = np.zeros_like(x)
    expected[key] = g
    np.testing.assert_array_equal(t.grad.data, expected)
    check_gradcheck([(5, 4)], lambda a: a[key])


def test_getitem_negative_step_matches_torch_flip():
    check_op([(6, 3)], lambda x: x[::-2], lambda x: torch.flip(x, [0])[::2])


def _adv_cases():
    r = np.random.default_rng(7)
    mask3 = r.random((4, 3, 5)) < 0.5
    mask_mid = np.array([True, False, True])
    return [
        ("repeated", lambda ix: (ix[0],), [np.array([0, 2, 2, 3, 0, 0])]),
        ("negative", lambda ix: (ix[0],), [np.array([-1, -4, 1, -1])]),
        ("2d index", lambda ix: (ix[0],), [np.array([[0, 1], [3, 3]])]),
        ("two arrays", lambda ix: (ix[0], ix[1]), [np.array([0, 1, 1, 3]), np.array([2, 0, 0, -1])]),
        ("broadcast arrays", lambda ix: (ix[0], slice(None), ix[1]), [np.array([[0], [3]]), np.array([1, 4, 4])]),
        ("idx, :, 1:3", lambda ix: (ix[0], slice(None), slice(1, 3)), [np.array([2, 0, 2])]),
        (":, idx", lambda ix: (slice(None), ix[0]), [np.array([2, 2, 0, 1])]),
        ("..., idx", lambda ix: (Ellipsis, ix[0]), [np.array([4, 0, 4])]),
        ("int and array", lambda ix: (1, slice(None), ix[0]), [np.array([0, 3, 3])]),
        ("None and array", lambda ix: (None, ix[0]), [np.array([1, 1])]),
        ("full mask", lambda ix: (ix[0],), [mask3]),
        (":, mask", lambda ix: (slice(None), ix[0]), [mask_mid]),
        ("mask and array", lambda ix: (ix[0], ix[1]), [np.array([True, False, True, True]), np.array([0, 2, 2])]),
        ("empty", lambda ix: (ix[0],), [np.zeros(0, np.int64)]),
    ]


@pytest.mark.parametrize("name,key,arrays", _adv_cases(), ids=[c[0] for c in _adv_cases()])
@pytest.mark.parametrize("layout", ["contiguous", "sliced"])
def test_getitem_advanced(name, key, arrays, layout):
    e, t = _idx(*arrays)
    check_op([(4, 3, 5)], lambda x: x[key(e)], lambda x: x[key(t)], layout=layout)


def test_getitem_list_and_0d_tensor_keys():
    check_op([(5, 2)], lambda x: x[[0, 0, 4]])
    check_op([(5, 2)], lambda x: x[em.tensor(3)], lambda x: x[torch.tensor(3)])
    x = em.zeros(5, 2)
    assert np.shares_memory(x[em.tensor(3)].data, x.data)


def test_getitem_repeated_index_gradient_accumulates():
    x = em.zeros(4, 2, requires_grad=True)
    x[em.tensor([1, 1, 1, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad.data[:, 0], [0, 3, 0, 1])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_getitem_gradient_dtypes(dtype):
    check_op([(6, 3)], lambda x: x[[0, 5, 5, -1]], dtype=dtype, atol=1e-3 if dtype == np.float16 else 1e-5)


def test_getitem_gradcheck_and_double_backward():
    idx = em.tensor([0, 2, 2, -1])
    check_gradcheck([(4, 3)], lambda x: x[idx, 1:])
    check_gradcheck([(4, 3)], lambda x: x[x > 0])
    x = em.tensor(rng().standard_normal((4, 3)), requires_grad=True)
    assert gradgradcheck(lambda a: a[idx] ** 2, [x])


def test_getitem_out_of_range_error_names_index_dim_and_size():
    x = em.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index 5 is out of range for dimension 1 with size 4"):
        x[:, 5]
    with pytest.raises(IndexError, match=r"index -7 is out of range for dimension 0 with size 3"):
        x[em.tensor([0, -7])]


def test_getitem_float_index_error():
    with pytest.raises(IndexError, match="float32"):
        em.zeros(3)[em.tensor([0.0, 1.0])]


# ---------------------------------------------------------------- setitem / index_put
SET_CASES = [
    ("int row, tensor", lambda ix: 1, (3,)),
    ("slice, broadcast row", lambda ix: slice(0, 2), (3,)),
    ("step slice", lambda ix: (slice(None, None, 2), slice(1, None)), (2, 2)),
    ("repeated-free int array", lambda ix: ix[0], (3, 3)),
    ("mask", lambda ix: ix[1], ()),
    ("column", lambda ix: (slice(None), 0), (4,)),
    ("1,3 value into row", lambda ix: 2, (1, 3)),
]


@pytest.mark.parametrize("name,key,vshape", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_setitem_gradients_to_input_and_value(name, key, vshape):
    e, t = _idx(np.array([3, 0, 1]), np.array([True, False, True, True]))

    def fn_e(x, v):
        y = x * 1.0
        y[key(e)] = v
        return y * y

    def fn_t(x, v):
        y = x * 1.0
        y[key(t)] = v
        return y * y

    check_op([(4, 3), vshape], fn_e, fn_t)


def test_setitem_value_with_grad_into_plain_tensor():
    v = em.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = em.zeros(4, 3)
    y[1] = v * 2
    y[3, 1:] = v[:2]
    (y * em.arange(12.0).reshape(4, 3)).sum().backward()
    np.testing.assert_array_equal(v.grad.data, [2 * 3 + 10, 2 * 4 + 11, 2 * 5])


def test_setitem_python_scalar_and_mask():
    def fn(x):
        y = x.clone()
        y[y > 0] = 0.5
        y[0] = 2
        return y

    check_op([(4, 3)], fn)
    check_gradcheck([(4, 3)], fn)


def test_setitem_gradcheck():
    idx = em.tensor([2, 0])

    def fn(x, v):
        y = x.clone()
        y[idx, 1:] = v
        return y

    check_gradcheck([(3, 3), (2, 2)], fn)


def test_setitem_int_and_array_follows_torch():
    (ie,), (it,) = _idx(np.array([0, 3]))

    def fn_e(x, v):
        y = x * 1.0
        y[1, :, ie] = v
        return y

    def fn_t(x, v):
        y = x * 1.0
        y[1, :, it] = v
        return y

    check_op([(4, 3, 5), (3, 2)], fn_e, fn_t)


def test_index_put_out_of_range_error():
    x = em.zeros(3, 4)
    with pytest.raises(IndexError, match="index_put: index 4 is out of range for dimension 1 with size 4"):
        em.index_put(x, (em.tensor([0]), em.tensor([4])), em.tensor(1.0))


def test_setitem_on_leaf_requiring_grad_is_an_error():
    x = em.zeros(3, requires_grad=True)
    with pytest.raises(em.AutogradError):
        x[0] = 1.0


def test_setitem_shape_error():
    x = em.zeros(3, 4)
    with pytest.raises(em.ShapeError, match=r"\(2,\)"):
        x[0] = em.zeros(2)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(accumulate):
    ie = (em.tensor([0, 2, 0, 1]) if accumulate else em.tensor([0, 2, 3]),)
    it = tuple(torch.tensor(i.data) for i in ie)
    n = ie[0].shape[0]
    check_op(
        [(4, 3), (n, 3)],
        lambda x, v: em.index_put(x, ie, v, accumulate=accumulate),
        lambda x, v: torch.index_put(x, it, v, accumulate=accumulate),
    )
    check_op(
        [(4, 3), (n, 3)],
        lambda x, v: (x * 1).index_put_(ie, v, accumulate=accumulate),
        lambda x, v: (x * 1).index_put_(it, v, accumulate=accumulate),
    )


# ---------------------------------------------------------------- gather / scatter
@pytest.mark.parametrize(
    "shape,dim,ishape",
    [
        ((4, 5), 0, (6, 5)),
        ((4, 5), 1, (4, 7)),
        ((4, 5), -1, (2, 3)),
        ((3, 4, 5), 1, (3, 2, 5)),
        ((3, 4, 5), 2, (2, 4, 3)),
    ],
)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_gather(shape, dim, ishape, layout):
    idx = rng().integers(0, shape[dim], ishape)  # repeats are likely
    (ie,), (it,) = _idx(idx)
    check_op([shape], lambda x: x.gather(dim, ie), lambda x: x.gather(dim, it), layout=layout)
    check_gradcheck([shape], lambda x: em.gather(x, dim, ie))


def test_gather_int32_index_and_empty():
    idx = np.array([[0, 1], [1, 1]], np.int32)
    check_op([(2, 3)], lambda x: x.gather(1, em.tensor(idx)), lambda x: x.gather(1, torch.tensor(idx)))
    empty = np.zeros((0, 3), np.int64)
    check_op([(2, 3)], lambda x: x.gather(0, em.tensor(empty)), lambda x: x.gather(0, torch.tensor(empty)))


def test_gather_double_backward():
    idx = em.tensor([[0, 0], [2, 1]])
    x = em.tensor(rng().standard_normal((3, 2)), requires_grad=True)
    assert gradgradcheck(lambda a: em.gather(a, 0, idx) ** 2, [x])


def test_gather_errors():
    x = em.zeros(3, 4)
    with pytest.raises(em.ShapeError, match=r"index \(3,\) must have the same number of dimensions as input \(3, 4\)"):
        x.gather(1, em.tensor([0, 1, 2]))
    with pytest.raises(em.ShapeError, match=r"index \(5, 2\) is larger than input \(3, 4\) in dimension 0 \(5 > 3\)"):
        x.gather(1, em.zeros(5, 2, dtype=em.int64))
    with pytest.raises(em.DTypeError, match="float32"):
        x.gather(1, em.zeros(3, 2))
    with pytest.raises(IndexError, match="gather: index 4 is out of range for dimension 1 with size 4"):
        x.gather(1, em.tensor([[4], [0], [0]]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        x.gather(0, em.tensor([[-1]]))


def _unique_index(shape, dim, size):
    """An index of ``shape`` whose entries along ``dim`` never repeat (size >= shape[dim])."""
    r = rng()
    moved = np.moveaxis(np.empty(shape), dim, -1)
    out = np.stack([r.permutation(size)[: shape[dim]] for _ in range(int(np.prod(moved.shape[:-1])))])
    return np.moveaxis(out.reshape(moved.shape), -1, dim)


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_src_and_value(dim):
    idx = _unique_index((2, 3), dim, (4, 5)[dim])
    (ie,), (it,) = _idx(idx)
    check_op([(4, 5), (2, 3)], lambda x, s: x.scatter(dim, ie, s), lambda x, s: x.scatter(dim, it, s))
    # src larger than the index: only its leading corner is used (torch's backward fails there: forward only)
    check_op(
        [(4, 5), (3, 4)], lambda x, s: em.scatter(x, dim, ie, s), lambda x, s: torch.scatter(x, dim, it, s), grad=False
    )
    check_op([(4, 5)], lambda x: x.scatter(dim, ie, 1.5), lambda x: x.scatter(dim, it, 1.5))
    check_op([(4, 5), (2, 3)], lambda x, s: (x * 1).scatter_(dim, ie, s), lambda x, s: (x * 1).scatter_(dim, it, s))
    check_gradcheck([(4, 5), (3, 4)], lambda x, s: em.scatter(x, dim, ie, s))


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce(reduce):
    (ie,), (it,) = _idx(np.array([[0, 1, 0], [0, 2, 1]]))
    check_op(
        [(3, 3), (2, 3)],
        lambda x, s: x.scatter(0, ie, s, reduce=reduce),
        lambda x, s: x.scatter(0, it, s, reduce=reduce),
        grad=False,
    )


@pytest.mark.parametrize("shape,dim,ishape", [((4, 5), 0, (6, 5)), ((4, 5), 1, (3, 8)), ((2, 3, 4), 1, (2, 5, 3))])
def test_scatter_add(shape, dim, ishape):
    idx = rng().integers(0, shape[dim], ishape)
    (ie,), (it,) = _idx(idx)
    check_op([shape, ishape], lambda x, s: x.scatter_add(dim, ie, s), lambda x, s: x.scatter_add(dim, it, s))
    check_op(
        [shape, ishape], lambda x, s: (x * 1).scatter_add_(dim, ie, s), lambda x, s: (x * 1).scatter_add_(dim, it, s)
    )
    check_gradcheck([shape, ishape], lambda x, s: em.scatter_add(x, dim, ie, s))


def test_scatter_add_integer_tensors():
    x = np.arange(6).reshape(2, 3)
    idx = np.array([[0, 0, 1], [2, 2, 2]])
    out = em.tensor(x).scatter_add(1, em.tensor(idx), em.tensor(x))
    expected = torch.tensor(x).scatter_add(1, torch.tensor(idx), torch.tensor(x))
    np.testing.assert_array_equal(out.data, expected.numpy())
    assert out.dtype == em.int64


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    idx = np.array([[0, 2, 0, 0], [3, 2, 2, 0], [1, 1, 1, 1]])  # repeats, and slots nobody writes
    (ie,), (it,) = _idx(idx)
    check_op(
        [(4, 4), (3, 4)],
        lambda x, s: x.scatter_reduce(0, ie, s, reduce, include_self=include_self),
        lambda x, s: x.scatter_reduce(0, it, s, reduce, include_self=include_self),
        low=0.5,
        high=2.0,
    )
    check_gradcheck(
        [(4, 4), (3, 5)],
        lambda x, s: em.scatter_reduce(x, 0, ie, s, reduce, include_self=include_self),
        low=0.5,
        high=2.0,
    )


def test_scatter_reduce_prod_with_zeros_and_amax_ties():
    (ie,), (it,) = _idx(np.array([0, 0, 0, 1, 1]))
    x = np.array([2.0, 0.0, 3.0], np.float32)
    s = np.array([0.0, 4.0, 5.0, 0.0, 0.0], np.float32)
    check_op(
        [],
        lambda a, b: a.scatter_reduce(0, ie, b, "prod"),
        lambda a, b: a.scatter_reduce(0, it, b, "prod"),
        inputs=[x, s],
    )
    s2 = np.array([2.0, 1.0, 2.0, 0.0, 0.0], np.float32)
    check_op(
        [],
        lambda a, b: a.scatter_reduce(0, ie, b, "amax"),
        lambda a, b: a.scatter_reduce(0, it, b, "amax"),
        inputs=[x, s2],
    )


def test_scatter_errors():
    x = em.zeros(3, 4)
    with pytest.raises(em.ShapeError, match=r"index \(2, 3\) is larger than src \(2, 2\) in dimension 1"):
        x.scatter(0, em.zeros(2, 3, dtype=em.int64), em.zeros(2, 2))
    with pytest.raises(em.DTypeError, match=r"src of dtype ember.float32.*got ember.float64"):
        x.scatter_add(0, em.zeros(2, 3, dtype=em.int64), em.zeros(2, 3, dtype=em.float64))
    with pytest.raises(IndexError, match="scatter_add: index 3 is out of range for dimension 0 with size 3"):
        x.scatter_add(0, em.tensor([[3]]), em.zeros(1, 1))
    with pytest.raises(ValueError, match="reduce must be one of"):
        x.scatter_reduce(0, em.zeros(1, 1, dtype=em.int64), em.zeros(1, 1), "max")


# ---------------------------------------------------------------- index_select / add / fill / copy
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((5, 3), 0), ((3, 5), 1), ((2, 5, 3), 1), ((2, 3, 5), -1)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_index_select(shape, dim, layout):
    idx = np.array([4, 0, 0, 2, 4, 4])
    (ie,), (it,) = _idx(idx)
    check_op([shape], lambda x: x.index_select(dim, ie), lambda x: x.index_select(dim, it), layout=layout)


def test_index_select_gradcheck_and_0d_index():
    (ie,), (it,) = _idx(np.array([1, 1, 0]))
    check_gradcheck([(2, 3)], lambda x: em.index_select(x, 1, ie))
    check_op([(4, 3)], lambda x: x.index_select(0, em.tensor(2)), lambda x: x.index_select(0, torch.tensor(2)))


def test_index_select_errors():
    x = em.zeros(3, 4)
    with pytest.raises(IndexError, match="index_select: index 4 is out of range for dimension 1 with size 4"):
        x.index_select(1, em.tensor([0, 4]))
    with pytest.raises(em.ShapeError, match=r"vector.*\(2, 1\)"):
        x.index_select(1, em.zeros(2, 1, dtype=em.int64))


@pytest.mark.parametrize("dim,alpha", [(0, 1), (1, 2.5), (-1, -1)])
def test_index_add(dim, alpha):
    shape = (4, 5)
    idx = np.array([1, 3, 1, 1])
    (ie,), (it,) = _idx(idx)
    sshape = list(shape)
    sshape[dim] = 4
    check_op(
        [shape, sshape],
        lambda x, s: x.index_add(dim, ie, s, alpha=alpha),
        lambda x, s: x.index_add(dim, it, s, alpha=alpha),
    )
    check_op(
        [shape, sshape],
        lambda x, s: (x * 1).index_add_(dim, ie, s, alpha=alpha),
        lambda x, s: (x * 1).index_add_(dim, it, s, alpha=alpha),
    )
    check_gradcheck([shape, sshape], lambda x, s: em.index_add(x, dim, ie, s, alpha=alpha))


def test_index_add_source_shape_error():
    with pytest.raises(em.ShapeError, match=r"source \(2, 4\) does not fit input \(3, 4\).*expected source of shape"):
        em.zeros(3, 4).index_add(0, em.tensor([0, 1, 2]), em.zeros(2, 4))


@pytest.mark.parametrize("dim", [0, 1])
def test_index_fill_and_copy(dim):
    (ie,), (it,) = _idx(np.array([2, 0]))
    check_op([(3, 4)], lambda x: x.index_fill(dim, ie, -1.5), lambda x: x.index_fill(dim, it, -1.5))
    check_op([(3, 4), ()], lambda x, v: x.index_fill(dim, ie, v), lambda x, v: x.index_fill(dim, it, v))
    check_op([(3, 4)], lambda x: (x * 1).index_fill_(dim, ie, 0.0), lambda x: (x * 1).index_fill_(dim, it, 0.0))
    sshape = (2, 4) if dim == 0 else (3, 2)
    check_op([(3, 4), sshape], lambda x, s: x.index_copy(dim, ie, s), lambda x, s: x.index_copy(dim, it, s))
    check_op(
        [(3, 4), sshape], lambda x, s: (x * 1).index_copy_(dim, ie, s), lambda x, s: (x * 1).index_copy_(dim, it, s)
    )
    check_gradcheck([(3, 4), ()], lambda x, v: em.index_fill(x, dim, ie, v))
    check_gradcheck([(3, 4), sshape], lambda x, s: em.index_copy(x, dim, ie, s))


# ---------------------------------------------------------------- masks
@pytest.mark.parametrize("mshape", [(3, 4), (4,), (3, 1)])
def test_masked_fill(mshape):
    (me,), (mt,) = _idx(rng().random(mshape) < 0.5)
    check_op([(3, 4)], lambda x: x.masked_fill(me, 2.0), lambda x: x.masked_fill(mt, 2.0), layout="transposed")
    check_op([(3, 4), ()], lambda x, v: x.masked_fill(me, v), lambda x, v: x.masked_fill(mt, v))
    check_op([(3, 4)], lambda x: (x * 1).masked_fill_(me, 0.0), lambda x: (x * 1).masked_fill_(mt, 0.0))
    check_gradcheck([(3, 4), ()], lambda x, v: em.masked_fill(x, me, v))


def test_masked_fill_integer_tensor_and_errors():
    x = em.arange(6).reshape(2, 3)
    out = x.masked_fill(x > 2, -1)
    assert out.dtype == em.int64 and out.tolist() == [[0, 1, 2], [-1, -1, -1]]
    with pytest.raises(em.DTypeError, match="mask must be a bool tensor, got ember.int64"):
        x.masked_fill(x, 0)
    with pytest.raises(
        em.ShapeError,
        match=r"^masked_fill: mask \(4,\) and input \(2, 3\) do not broadcast: dimension -1 has size 4 in mask and 3 in input$",
    ):
        x.masked_fill(em.zeros(4, dtype=em.bool), 0)
    with pytest.raises(em.ShapeError, match="0-dimensional value"):
        em.zeros(3).masked_fill(em.ones(3, dtype=em.bool), em.zeros(3))


@pytest.mark.parametrize("xshape,mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4))])
def test_masked_select(xshape, mshape):
    (me,), (mt,) = _idx(rng().random(mshape) < 0.5)
    check_op([xshape], lambda x: x.masked_select(me), lambda x: x.masked_select(mt))
    check_gradcheck([xshape], lambda x: em.masked_select(x, me))


def test_masked_scatter():
    (me,), (mt,) = _idx(rng().random((3, 4)) < 0.5)
    check_op([(3, 4), (4, 4)], lambda x, s: x.masked_scatter(me, s), lambda x, s: x.masked_scatter(mt, s))
    check_op([(3, 4), (13,)], lambda x, s: (x * 1).masked_scatter_(me, s), lambda x, s: (x * 1).masked_scatter_(mt, s))
    check_gradcheck([(3, 4), (12,)], lambda x, s: em.masked_scatter(x, me, s))
    with pytest.raises(em.ShapeError, match=r"source \(2,\) has 2 elements but the mask \(3,\) selects 3"):
        em.zeros(3).masked_scatter(em.ones(3, dtype=em.bool), em.zeros(2))


# ---------------------------------------------------------------- take / take_along_dim / put
def test_take():
    (ie,), (it,) = _idx(np.array([[0, 11, -1], [5, 5, 5]]))
    check_op([(3, 4)], lambda x: x.take(ie), lambda x: x.take(it), layout="transposed")
    check_gradcheck([(3, 4)], lambda x: em.take(x, ie))
    with pytest.raises(IndexError, match="take: index 12 is out of range for dimension 0 with size 12"):
        em.zeros(3, 4).take(em.tensor([12]))


@pytest.mark.parametrize(
    "xshape,ishape,dim", [((3, 4), (3, 2), 1), ((3, 4), (1, 5), 1), ((1, 4), (3, 2), 1), ((3, 4, 2), (3, 6, 1), 1)]
)
def test_take_along_dim(xshape, ishape, dim):
    idx = rng().integers(0, xshape[dim], ishape)
    (ie,), (it,) = _idx(idx)
    check_op([xshape], lambda x: x.take_along_dim(ie, dim), lambda x: x.take_along_dim(it, dim))
    check_op([xshape], lambda x: em.take_along_dim(x, ie), lambda x: torch.take_along_dim(x, it))
    check_gradcheck([xshape], lambda x: em.take_along_dim(x, ie, dim))


def test_take_along_dim_negative_indices_count_from_the_end():
    x = np.arange(12.0).reshape(3, 4)
    idx = np.array([[-1], [0], [-4]])
    out = em.take_along_dim(em.tensor(x), em.tensor(idx), 1)
    np.testing.assert_array_equal(out.data, np.take_along_axis(x, idx % 4, 1))


@pytest.mark.parametrize("accumulate", [False, True])
def test_put(accumulate):
    idx = np.array([0, 7, 3, 7, -1]) if accumulate else np.array([0, 6, 3, -1])
    (ie,), (it,) = _idx(idx)
    n = idx.size
    check_op(
        [(2, 4), (n,)],
        lambda x, s: x.put(ie, s, accumulate=accumulate),
        lambda x, s: x.put(it, s, accumulate=accumulate),
    )
    check_op(
        [(2, 4), (n,)],
        lambda x, s: (x * 1).put_(ie, s, accumulate),
        lambda x, s: (x * 1).put_(it, s, accumulate),
    )
    check_gradcheck([(2, 4), (n,)], lambda x, s: em.put(x, ie, s, accumulate))


# ---------------------------------------------------------------- no gradient
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), (0, 3), ()])
def test_nonzero_and_argwhere(shape):
    x = (rng().random(shape) < 0.5).astype(np.float32) if shape else np.float32(3.0)
    e, t = em.tensor(x), torch.tensor(x)
    np.testing.assert_array_equal(em.nonzero(e).data, torch.nonzero(t).numpy())
    assert em.nonzero(e).dtype == em.int64
    for a, b in zip(e.nonzero(as_tuple=True), torch.nonzero(t, as_tuple=True), strict=True):
        np.testing.assert_array_equal(a.data, b.numpy())
    np.testing.assert_array_equal(em.argwhere(e).data, torch.argwhere(t).numpy())


def test_one_hot():
    idx = np.array([[0, 3], [2, 2]])
    out = em.one_hot(em.tensor(idx))
    expected = torch.nn.functional.one_hot(torch.tensor(idx))
    np.testing.assert_array_equal(out.data, expected.numpy())
    assert out.dtype == em.int64 and out.shape == (2, 2, 4)
    assert em.one_hot(em.tensor([1]), num_classes=5).shape == (1, 5)
    with pytest.raises(ValueError, match="smaller than num_classes=3"):
        em.one_hot(em.tensor([3]), 3)
    with pytest.raises(ValueError, match="non-negative"):
        em.one_hot(em.tensor([-1]))


# ---------------------------------------------------------------- scatter-add paths agree
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
def test_index_add_paths_agree_with_numpy(dtype):
    """The Numba kernel (float32/64, int32/64) and np.add.at (others) give np.add.at's answer."""
    idx = rng().integers(-6, 6, 50)
    src = (rng().standard_normal((3, 50, 4)) * 4).astype(dtype)
    out = em.zeros(3, 6, 4, dtype=dtype).index_add(1, em.tensor(np.where(idx < 0, idx + 6, idx)), em.tensor(src))
    expected = np.zeros((3, 6, 4), dtype)
    np.add.at(expected, (slice(None), idx), src)
    np.testing.assert_allclose(out.data.astype(np.float64), expected.astype(np.float64), rtol=1e-2)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_setitem_shape_errors_name_both_shapes_and_the_axis(requires_grad):
    x = em.zeros(3, 4, requires_grad=requires_grad)
    x = x.clone() if requires_grad else x
    cases = [
        (slice(None), em.ones(3, 5), r"\(3, 5\).*region has shape \(3, 4\): dimension -1 has size 5 in the value"),
        ((0,), em.ones(3), r"region has shape \(4,\): dimension -1 has size 3 in the value and 4 in the region"),
        (em.tensor([0, 2]), em.ones(3, 4), r"region has shape \(2, 4\): dimension -2 has size 3 in the value"),
        (slice(None), em.ones(2, 3, 4), r"extra leading dimensions \(2,\) must have size 1"),
    ]
    for key, value, message in cases:
        with pytest.raises(em.ShapeError, match="^__setitem__: .*" + message):
            x[key] = value
        assert x.data.sum() == 0 and x._version == 0
    x[:] = em.ones(1, 1, 4)  # leading size-1 dims of the value are fine, as in torch
    assert x.data.sum() == 12


def test_index_put_accumulate_shape_error_names_the_axis():
    with pytest.raises(em.ShapeError, match=r"region has shape \(2, 4\): dimension -1 has size 3 in the value"):
        em.zeros(3, 4).index_put((em.tensor([0, 1]),), em.ones(3), accumulate=True)
