"""Shape ops against PyTorch: values, dtypes, gradients, views and error messages."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ember as em
from tests.helpers import check_gradcheck, check_op, make_array

LAYOUTS = ["contiguous", "transposed", "sliced"]


@pytest.fixture(autouse=True, scope="module")
def _torch_single_thread():
    """torch's intra-op thread pool spins for ~15 ms per tril/pad on this shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def ns(x):
    """The module whose functions match ``x``: ember for ember tensors, torch for torch tensors."""
    return em if isinstance(x, em.Tensor) else torch


def fpad(x, *args, **kwargs):
    return (em.pad if isinstance(x, em.Tensor) else F.pad)(x, *args, **kwargs)


# ------------------------------------------------------------------ reshape, view
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,target",
    [
        ((3, 4), (12,)),
        ((3, 4), (2, -1)),
        ((2, 3, 4), (4, 6)),
        ((2, 3, 4), (-1, 4)),
        ((6,), (1, 6, 1)),
        ((0, 4), (4, 0)),
    ],
)
def test_reshape(shape, target, layout):
    check_op([shape], lambda x: x.reshape(target), layout=layout)
    check_op([shape], lambda x: ns(x).reshape(x, target), layout=layout)


def test_reshape_0d_and_to_0d():
    check_op([()], lambda x: x.reshape(1, 1))
    check_op([(1, 1)], lambda x: x.reshape(()))
    check_op([()], lambda x: x.reshape(-1))


def test_reshape_of_contiguous_is_a_view():
    x = em.randn(3, 4)
    y = x.reshape(2, 6)
    assert np.shares_memory(x.data, y.data)
    y[0, 0] = 5.0
    assert x.data[0, 0] == 5.0 and x._version == y._version


def test_reshape_of_transposed_copies_and_is_not_a_view():
    x = em.randn(3, 4, requires_grad=True)
    y = x.t().reshape(12)
    assert not np.shares_memory(x.data, y.data)
    z = y * 1
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((3, 4)))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_view_and_view_as(layout):
    check_op([(2, 3, 4)], lambda x: x.view(2, 3, 2, 2), layout=layout)
    check_op([(2, 3, 4), (6, 4)], lambda x, y: x.reshape(6, 4).view_as(y) * y)
    check_op([(4, 6)], lambda x: x.view(-1))


def test_view_of_transposed_that_needs_a_copy_raises():
    x = em.randn(3, 4).t()
    with pytest.raises(em.ShapeError, match=r"view: .*\(4, 3\).*reshape"):
        x.view(12)
    assert x.view(4, 3, 1).shape == (4, 3, 1)  # adding a unit dim needs no copy


def test_reshape_errors():
    x = em.randn(2, 3)
    with pytest.raises(
        em.ShapeError, match=r"reshape: shape \(4, 2\) is invalid for input of size 6 \(shape \(2, 3\)\)"
    ):
        x.reshape(4, 2)
    with pytest.raises(em.ShapeError, match=r"reshape: only one dimension can be inferred"):
        x.reshape(-1, -1)
    with pytest.raises(em.ShapeError, match=r"reshape: shape \(-1, 4\) is invalid for input of size 6"):
        x.reshape(-1, 4)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,start,end",
    [((2, 3, 4), 0, -1), ((2, 3, 4), 1, 2), ((2, 3, 4, 5), -3, -2), ((2, 3), 1, 1), ((2, 0, 3), 0, 1)],
)
def test_flatten(shape, start, end, layout):
    check_op([shape], lambda x: x.flatten(start, end), layout=layout)
    check_op([shape], lambda x: ns(x).flatten(x, start_dim=start, end_dim=end), layout=layout)
    check_op([shape], lambda x: x.ravel(), layout=layout)


def test_flatten_0d_and_errors():
    check_op([()], lambda x: x.flatten())
    with pytest.raises(em.ShapeError, match="flatten: start_dim"):
        em.randn(2, 3, 4).flatten(2, 1)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,dim,sizes", [((2, 12), 1, (3, 4)), ((2, 12), -1, (2, -1, 3)), ((6, 5), 0, (6,)), ((0, 4), 1, (2, 2))]
)
def test_unflatten(shape, dim, sizes, layout):
    check_op([shape], lambda x: x.unflatten(dim, sizes), layout=layout)


def test_unflatten_error():
    with pytest.raises(em.ShapeError, match=r"unflatten: provided sizes \(2, 2\) .*dim 1 \(3\).*\(2, 3\)"):
        em.randn(2, 3).unflatten(1, (2, 2))


# ---------------------------------------------------------- squeeze, unsqueeze
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [None, 0, -1, 2, (0, 3), (1, -1)])
def test_squeeze(dim, layout):
    fn = (lambda x: x.squeeze()) if dim is None else (lambda x: x.squeeze(dim))
    check_op([(1, 3, 1, 1)], fn, layout=layout)
    check_op([(2, 1, 0, 1)], fn, layout=layout)


def test_squeeze_0d():
    check_op([()], lambda x: x.squeeze())
    check_op([()], lambda x: x.squeeze(0))
    check_op([()], lambda x: x.squeeze(-1))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_unsqueeze(dim, layout):
    check_op([(3, 4)], lambda x: x.unsqueeze(dim), layout=layout)
    check_op([(0, 4)], lambda x: ns(x).unsqueeze(x, dim), layout=layout)


def test_unsqueeze_0d():
    check_op([()], lambda x: x.unsqueeze(0))
    check_op([()], lambda x: x.unsqueeze(-1))


# ------------------------------------------------------------ permute and friends
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dims", [(2, 0, 1), (0, 1, 2), (-1, -3, -2)])
def test_permute(dims, layout):
    check_op([(2, 3, 4)], lambda x: x.permute(dims), layout=layout)
    check_op([(2, 0, 4)], lambda x: x.permute(*dims), layout=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["transpose", "swapaxes", "swapdims"])
@pytest.mark.parametrize("d0,d1", [(0, 1), (0, 2), (-1, 0), (1, 1)])
def test_transpose(name, d0, d1, layout):
    check_op([(2, 3, 4)], lambda x: getattr(x, name)(d0, d1), layout=layout)
    check_op([(2, 3, 4)], lambda x: getattr(ns(x), name)(x, d0, d1), layout=layout)


def test_transpose_0d_keeps_the_graph():
    check_op([()], lambda x: x.transpose(0, -1) * 2)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(), (3,), (3, 4), (0, 4)])
def test_t(shape, layout):
    check_op([shape], lambda x: x.t() * 2, layout=layout)
    check_op([shape], lambda x: ns(x).t(x) * 2, layout=layout)


def test_t_error():
    with pytest.raises(em.ShapeError, match=r"t: expects a tensor with <= 2 dimensions.*\(2, 3, 4\)"):
        em.randn(2, 3, 4).t()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["movedim", "moveaxis"])
@pytest.mark.parametrize("src,dst", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ((0, 2), (-1, -3)), ((), ())])
def test_movedim(name, src, dst, layout):
    check_op([(2, 3, 4)], lambda x: getattr(x, name)(src, dst), layout=layout)
    check_op([(2, 3, 4)], lambda x: getattr(ns(x), name)(x, src, dst), layout=layout)


def test_movedim_errors():
    with pytest.raises(em.ShapeError, match="movedim: source"):
        em.randn(2, 3).movedim((0, 1), (1,))
    with pytest.raises(em.ShapeError, match="movedim: repeated dim"):
        em.randn(2, 3).movedim((0, 0), (1, 0))
    with pytest.raises(IndexError, match="movedim: dimension out of range"):
        em.randn(2, 3).movedim(2, 0)


# ------------------------------------------------------------------ broadcasting
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,target",
    [((3, 1), (3, 4)), ((1, 4), (2, 5, 4)), ((3, 1), (-1, 4)), ((), (2, 3)), ((2, 1), (2, 0)), ((3,), (0, 3))],
)
def test_expand_and_broadcast_to(shape, target, layout):
    check_op([shape], lambda x: x.expand(target), layout=layout)
    check_op([shape], lambda x: x.expand(*target), layout=layout)
    if -1 not in target:
        check_op([shape], lambda x: x.broadcast_to(target), layout=layout)
        check_op([shape], lambda x: ns(x).broadcast_to(x, target), layout=layout)


def test_expand_as():
    check_op([(3, 1), (2, 3, 4)], lambda x, y: x.expand_as(y) * y)


def test_expand_errors():
    x = em.randn(2, 3)
    with pytest.raises(
        em.ShapeError,
        match=r"expand: the expanded size of the tensor \(4\) must match the existing size \(3\) at non-singleton dimension 1.*\(2, 3\)",
    ):
        x.expand(2, 4)
    with pytest.raises(em.ShapeError, match=r"expand: the number of sizes provided \(1\)"):
        x.expand(3)
    with pytest.raises(em.ShapeError, match=r"expand: -1 is not allowed"):
        x.expand(-1, 2, 3)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shapes", [[(3, 1), (1, 4)], [(2, 3, 4), (4,), ()], [(0, 1), (3,)], [(5,)]])
def test_broadcast_tensors(shapes, layout):
    check_op(shapes, lambda *xs: ns(xs[0]).broadcast_tensors(*xs), layout=layout)


def test_broadcast_tensors_and_shapes_errors():
    with pytest.raises(em.ShapeError, match=r"broadcast_tensors: tensor 2 has shape \(5,\).*\(2, 3\)"):
        em.broadcast_tensors(em.randn(2, 1), em.randn(3), em.randn(5))
    assert em.broadcast_shapes((2, 1), (3,), 3) == (2, 3)
    with pytest.raises(em.ShapeError, match=r"broadcast_shapes: shape 1 has shape \(4,\)"):
        em.broadcast_shapes((2, 3), (4,))


# ----------------------------------------------------------------------- repeats
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,sizes",
    [((2, 3), (2, 1)), ((2, 3), (3, 2, 2)), ((3,), (2, 2)), ((), (3,)), ((), ()), ((2, 3), (0, 2)), ((0, 2), (2, 2))],
)
def test_repeat(shape, sizes, layout):
    check_op([shape], lambda x: x.repeat(sizes), layout=layout)
    if sizes:
        check_op([shape], lambda x: x.repeat(*sizes), layout=layout)


def test_repeat_error():
    with pytest.raises(
        em.ShapeError,
        match=r"^repeat: the repeat sizes \(2,\) are fewer than the dimensions of the tensor of shape \(2, 3\) \(1 < 2\)",
    ):
        em.randn(2, 3).repeat(2)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,dims", [((2, 3), (2,)), ((2, 3), (2, 1, 3)), ((3,), (2, 2)), ((2, 3), (1, 3)), ((0, 3), (2, 2))]
)
def test_tile(shape, dims, layout):
    check_op([shape], lambda x: x.tile(dims), layout=layout)
    check_op([shape], lambda x: ns(x).tile(x, dims), layout=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "repeats,dim", [(2, None), (3, 0), (2, 1), (2, -1), (0, 1), ([1, 0, 3], 1), ([2, 2], 0), ([0, 0, 0], -1), ([4], 1)]
)
def test_repeat_interleave(repeats, dim, layout):
    def fn(x):
        r = repeats
        if isinstance(r, list):
            r = em.tensor(r) if isinstance(x, em.Tensor) else torch.tensor(r)
        return x.repeat_interleave(r, dim=dim)

    check_op([(2, 3)], fn, layout=layout)


def test_repeat_interleave_0d_size0_and_repeats_only():
    check_op([()], lambda x: x.repeat_interleave(3))
    check_op([(0, 3)], lambda x: x.repeat_interleave(2, dim=0))
    check_op([(3, 0)], lambda x: x.repeat_interleave(2, dim=0))
    out = em.repeat_interleave(em.tensor([2, 0, 1]))
    np.testing.assert_array_equal(out.data, [0, 0, 2])
    assert out.dtype == em.int64


def test_repeat_interleave_errors():
    with pytest.raises(
        em.ShapeError,
        match=r"repeat_interleave: repeats must have the same size as input along dim 0.*\(3,\).*\(2, 3\)",
    ):
        em.randn(2, 3).repeat_interleave(em.tensor([1, 2, 3]), dim=0)
    with pytest.raises(em.ShapeError, match="repeat_interleave: repeats can not be negative"):
        em.randn(2, 3).repeat_interleave(-1)


# ------------------------------------------------------------------------- joining
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shapes,dim",
    [
        ([(2, 3), (4, 3)], 0),
        ([(2, 3), (2, 5), (2, 1)], 1),
        ([(2, 3), (2, 5)], -1),
        ([(2, 3, 4), (2, 1, 4)], -2),
        ([(0, 3), (2, 3)], 0),
        ([(2, 0), (2, 3)], 1),
        ([(3,)], 0),
    ],
)
def test_cat(shapes, dim, layout):
    for name in ("cat", "concat", "concatenate"):
        check_op(shapes, lambda *xs, name=name: getattr(ns(xs[0]), name)(list(xs), dim), layout=layout)


def test_cat_skips_legacy_empty_1d_tensors():
    check_op([(0,), (2, 3), (0,), (1, 3)], lambda *xs: ns(xs[0]).cat(xs, 0))
    check_op([(0,), (0,)], lambda *xs: ns(xs[0]).cat(xs))


@pytest.mark.parametrize(
    "dtypes",
    [
        (np.float32, np.int32),
        (np.int32, np.int64),
        (np.float16, np.int64),
        (np.bool_, np.uint8),
        (np.bool_, np.float64),
        (np.float32, np.float64),
    ],
)
def test_cat_and_stack_promote_dtypes(dtypes):
    inputs = [make_array((2, 3), dt, 0, 5) for dt in dtypes]
    check_op(None, lambda *xs: ns(xs[0]).cat(xs, 1), inputs=inputs)
    check_op(None, lambda *xs: ns(xs[0]).stack(xs, 1), inputs=inputs)


def test_cat_gradient_reaches_float_input_mixed_with_int():
    a = em.randn(2, 3, requires_grad=True)
    out = em.cat([a, em.ones(2, 2, dtype=em.int64)], 1)
    assert out.dtype == em.float32
    (out * em.arange(5.0)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.tile(np.arange(3.0), (2, 1)))


def test_cat_errors():
    with pytest.raises(
        em.ShapeError,
        match=r"^cat: tensor 1 has shape \(2, 5\) but tensor 0 has shape \(2, 4\): sizes must match except in dimension 0$",
    ):
        em.cat([em.randn(2, 4), em.randn(2, 5)])
    with pytest.raises(
        em.ShapeError,
        match=r"cat: tensor 2 has shape \(3, 4\) but tensor 0 has shape \(2, 4\): sizes must match except in dimension 1",
    ):
        em.cat([em.randn(2, 4), em.randn(2, 1), em.randn(3, 4)], dim=-1)
    with pytest.raises(
        em.ShapeError,
        match=r"cat: tensor 1 has 3 dimensions \(shape \(2, 3, 4\)\) but tensor 0 has 2 \(shape \(2, 3\)\)",
    ):
        em.cat([em.randn(2, 3), em.randn(2, 3, 4)])
    with pytest.raises(em.ShapeError, match=r"cat: zero-dimensional tensor \(at position 0\)"):
        em.cat([em.randn(), em.randn()])
    with pytest.raises(em.ShapeError, match="cat: expected a non-empty list"):
        em.cat([])
    with pytest.raises(IndexError, match="cat: dimension out of range"):
        em.cat([em.randn(2, 3), em.randn(2, 3)], 2)
    with pytest.raises(TypeError, match="cat: expected a sequence of Tensors, got int at position 1"):
        em.cat([em.randn(2), 3])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shapes,dim",
    [
        ([(2, 3), (2, 3)], 0),
        ([(2, 3)] * 3, 1),
        ([(2, 3)] * 2, 2),
        ([(2, 3)] * 2, -1),
        ([(2, 3)] * 2, -3),
        ([(0, 3)] * 2, 1),
        ([()] * 3, 0),
    ],
)
def test_stack(shapes, dim, layout):
    check_op(shapes, lambda *xs: ns(xs[0]).stack(xs, dim), layout=layout)


def test_stack_errors():
    with pytest.raises(
        em.ShapeError,
        match=r"^stack: tensor 2 has shape \(2, 5\) but tensor 0 has shape \(2, 4\): all tensors must have the same shape$",
    ):
        em.stack([em.randn(2, 4), em.randn(2, 4), em.randn(2, 5)])
    with pytest.raises(em.ShapeError, match="stack: expected a non-empty list"):
        em.stack([])
    with pytest.raises(IndexError, match="stack: dimension out of range"):
        em.stack([em.randn(2, 3)], 3)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize(
    "shapes", [[(3,), (2,)], [(2, 3), (2, 1)], [(), ()], [(2, 3, 4), (2, 3, 4)], [(3,), (3,)], [(2, 3), (2, 3)]]
)
def test_hstack_vstack_dstack_column_stack(name, shapes):
    try:
        torch_out = getattr(torch, name)([torch.zeros(s) for s in shapes])
    except RuntimeError:
        with pytest.raises((em.ShapeError, IndexError)):
            getattr(em, name)([em.zeros(s) for s in shapes])
        return
    out = check_op(shapes, lambda *xs: getattr(ns(xs[0]), name)(xs))
    assert out.shape == tuple(torch_out.shape)


@pytest.mark.parametrize("name,n", [("atleast_1d", 1), ("atleast_2d", 2), ("atleast_3d", 3)])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_atleast(name, n, shape):
    check_op([shape], lambda x: getattr(ns(x), name)(x) * 1)
    outs = getattr(em, name)(em.zeros(shape), em.zeros(()))
    assert isinstance(outs, tuple) and all(o.ndim >= n for o in outs)


# ---------------------------------------------------------------------- splitting
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,size,dim",
    [
        ((5, 3), 2, 0),
        ((4, 6), 3, 1),
        ((4, 6), 7, -1),
        ((4, 6), [1, 0, 5], 1),
        ((4, 6), [4], 0),
        ((0, 3), 2, 0),
        ((2, 0), [0, 0], 1),
    ],
)
def test_split(shape, size, dim, layout):
    check_op([shape], lambda x: x.split(size, dim), layout=layout)
    check_op([shape], lambda x: ns(x).split(x, size, dim=dim), layout=layout)


def test_split_gradient_when_only_some_pieces_are_used():
    check_op([(7, 3)], lambda x: x.split(2)[1] * 3)
    check_op([(7, 3)], lambda x: x.split([3, 1, 3], 0)[2].exp())
    check_op([(4, 6)], lambda x: (lambda p: p[0] * p[2])(x.chunk(3, 1)))
    check_op([(4, 5)], lambda x: x.unbind(1)[3] + x.unbind(1)[0])


def test_split_pieces_are_views():
    x = em.randn(6, 4)
    pieces = x.split(2)
    for p in pieces:
        assert np.shares_memory(p.data, x.data)
    pieces[1][0, 0] = 7.0
    assert x.data[2, 0] == 7.0 and x._version == pieces[0]._version
    for p in x.unbind(1) + x.chunk(2, 1):
        assert np.shares_memory(p.data, x.data)
    for p in em.randn(5).unbind(0):
        assert p.shape == () and p.data.base is not None


def test_split_errors():
    with pytest.raises(
        em.ShapeError,
        match=r"split: split sizes \(2, 2\) must be non-negative and sum exactly to the size 5 of dim 0 \(shape \(5, 3\)\)",
    ):
        em.randn(5, 3).split([2, 2])
    with pytest.raises(em.ShapeError, match="split: split_size must be positive"):
        em.randn(5, 3).split(0)
    with pytest.raises(em.ShapeError, match="chunk: number of chunks must be greater than 0"):
        em.randn(5, 3).chunk(0)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,chunks,dim",
    [((5, 3), 2, 0), ((6, 4), 4, 0), ((4, 6), 3, -1), ((3, 2), 5, 0), ((0, 3), 3, 0), ((2, 7), 1, 1)],
)
def test_chunk(shape, chunks, dim, layout):
    check_op([shape], lambda x: x.chunk(chunks, dim), layout=layout)
    check_op([shape], lambda x: ns(x).chunk(x, chunks, dim=dim), layout=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((3, 4), 1), ((2, 3, 4), -1), ((4,), 0), ((0, 3), 1), ((3, 0), 0)])
def test_unbind(shape, dim, layout):
    check_op([shape], lambda x: x.unbind(dim), layout=layout)
    check_op([shape], lambda x: ns(x).unbind(x, dim=dim), layout=layout)


def test_iterating_a_tensor_that_requires_grad():
    x = em.randn(3, 2, requires_grad=True)
    sum(r * (i + 1) for i, r in enumerate(x)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 1], [2, 2], [3, 3]])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,dim,start,length",
    [((5, 3), 0, 1, 3), ((5, 3), 1, 0, 3), ((5, 3), -1, -2, 2), ((5, 3), 0, 5, 0), ((4,), 0, -4, 1)],
)
def test_narrow(shape, dim, start, length, layout):
    check_op([shape], lambda x: x.narrow(dim, start, length), layout=layout)
    check_op([shape], lambda x: ns(x).narrow(x, dim, start, length), layout=layout)


def test_narrow_is_a_view_and_checks_bounds():
    x = em.randn(5, 3)
    assert np.shares_memory(x.narrow(0, 1, 2).data, x.data)
    with pytest.raises(em.ShapeError, match=r"narrow: start \(3\) \+ length \(3\) exceeds the size 5 of dim 0"):
        x.narrow(0, 3, 3)
    with pytest.raises(IndexError, match="narrow: start"):
        x.narrow(1, -4, 1)


# -------------------------------------------------------------------- flip, roll
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,dims", [((3, 4), (0,)), ((3, 4), (0, 1)), ((2, 3, 4), (-1, 0)), ((3,), (0,)), ((0, 3), (1,)), ((3, 4), ())]
)
def test_flip(shape, dims, layout):
    check_op([shape], lambda x: x.flip(dims), layout=layout)
    check_op([shape], lambda x: ns(x).flip(x, dims), layout=layout)


def test_flip_0d_and_is_a_copy():
    check_op([()], lambda x: x.flip(0))
    x = em.randn(3, 4)
    assert not np.shares_memory(x.flip(0).data, x.data)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["fliplr", "flipud"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (0, 2)])
def test_fliplr_flipud(name, shape, layout):
    check_op([shape], lambda x: getattr(x, name)(), layout=layout)
    check_op([shape], lambda x: getattr(ns(x), name)(x), layout=layout)


def test_fliplr_flipud_errors():
    with pytest.raises(em.ShapeError, match="fliplr: input must be at least 2-d"):
        em.randn(3).fliplr()
    with pytest.raises(em.ShapeError, match="flipud: input must be at least 1-d"):
        em.randn().flipud()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,shifts,dims",
    [
        ((3, 4), 1, None),
        ((3, 4), -5, None),
        ((3, 4), 2, 1),
        ((3, 4), (1, -2), (0, 1)),
        ((2, 3, 4), (5, 1), (-1, 0)),
        ((0, 3), 2, 0),
        ((3, 4), (1, 2), (1, 1)),
    ],
)
def test_roll(shape, shifts, dims, layout):
    check_op([shape], lambda x: x.roll(shifts, dims), layout=layout)
    check_op([shape], lambda x: ns(x).roll(x, shifts=shifts, dims=dims), layout=layout)


def test_roll_0d_and_errors():
    check_op([()], lambda x: x.roll(1))
    with pytest.raises(em.ShapeError, match=r"roll: shifts \(1, 2\) and dims \(0,\) must have the same length"):
        em.randn(2, 3).roll((1, 2), (0,))
    with pytest.raises(em.ShapeError, match="roll: shifts"):
        em.randn(2, 3).roll((1, 2))


# --------------------------------------------------------- triangles, diagonals
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize(
    "shape,k", [((4, 4), 0), ((3, 5), 1), ((5, 3), -2), ((2, 3, 4), 0), ((3, 4), 10), ((3, 4), -10), ((0, 3), 0)]
)
def test_tril_triu(name, shape, k, layout):
    check_op([shape], lambda x: getattr(x, name)(k), layout=layout)
    check_op([shape], lambda x: getattr(ns(x), name)(x, diagonal=k), layout=layout)


def test_tril_triu_inplace_and_errors():
    x = em.randn(3, 3)
    expected = np.triu(x.data, 1)
    assert x.triu_(1) is x
    np.testing.assert_array_equal(x.data, expected)
    with pytest.raises(em.ShapeError, match="tril: input tensor must have at least 2 dimensions"):
        em.randn(3).tril()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,offset,d1,d2",
    [
        ((4, 4), 0, 0, 1),
        ((3, 5), 1, 0, 1),
        ((3, 5), -2, 0, 1),
        ((3, 5), 1, 1, 0),
        ((2, 3, 4), 1, 0, 2),
        ((2, 3, 4), -1, -1, -2),
        ((3, 4), 7, 0, 1),
        ((0, 3), 0, 0, 1),
    ],
)
def test_diagonal(shape, offset, d1, d2, layout):
    check_op([shape], lambda x: x.diagonal(offset, d1, d2), layout=layout)
    check_op([shape], lambda x: ns(x).diagonal(x, offset=offset, dim1=d1, dim2=d2), layout=layout)


def test_diagonal_is_a_writable_view():
    x = em.zeros(3, 4)
    d = x.diagonal(1)
    assert np.shares_memory(d.data, x.data)
    d[1] = 5.0
    assert x.data[1, 2] == 5.0
    with pytest.raises(em.ShapeError, match="diagonal: diagonal dimensions cannot be identical"):
        x.diagonal(0, 1, -1)
    with pytest.raises(em.ShapeError, match="diagonal: expected a tensor with at least 2 dimensions"):
        em.randn(3).diagonal()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,k", [((3,), 0), ((3,), 2), ((3,), -1), ((3, 4), 0), ((3, 4), 1), ((4, 3), -2), ((0,), 1), ((2, 3), 5)]
)
def test_diag(shape, k, layout):
    check_op([shape], lambda x: x.diag(k), layout=layout)
    check_op([shape], lambda x: ns(x).diag(x, diagonal=k), layout=layout)


def test_diag_error():
    with pytest.raises(em.ShapeError, match=r"diag: expected a 1-d or 2-d tensor, got shape \(2, 3, 4\)"):
        em.randn(2, 3, 4).diag()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,offset,d1,d2",
    [
        ((3,), 0, -2, -1),
        ((2, 3), 1, -2, -1),
        ((2, 3), -1, 0, 2),
        ((2, 3), 2, 2, 0),
        ((2, 3, 4), 0, 1, -1),
        ((2, 0), 0, -2, -1),
    ],
)
def test_diag_embed(shape, offset, d1, d2, layout):
    check_op([shape], lambda x: x.diag_embed(offset, d1, d2), layout=layout)
    check_op([shape], lambda x: ns(x).diag_embed(x, offset=offset, dim1=d1, dim2=d2), layout=layout)


# ---------------------------------------------------------------------------- pad
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "shape,p",
    [
        ((3,), (1, 2)),
        ((2, 5), (0, 3)),
        ((2, 5), (2, 1, 1, 0)),
        ((2, 3, 4, 5), (1, 1, 2, 0, 0, 3)),
        ((2, 3, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1)),
        ((2, 5), (-1, 2)),
        ((2, 5), (-2, -3, 1, -1)),
        ((1, 1, 5), (-5, 0)),
        ((0, 4), (1, 1, 2, 0)),
        ((2, 3), ()),
    ],
)
def test_pad_constant(shape, p, layout):
    check_op([shape], lambda x: fpad(x, p), layout=layout)
    check_op([shape], lambda x: fpad(x, p, mode="constant", value=1.5), layout=layout)


def test_pad_constant_0d_and_int():
    check_op([()], lambda x: fpad(x, ()))
    check_op([(2, 3)], lambda x: fpad(x, (1, 2), value=2.7), dtype=np.int64, grad=False)
    check_op([(2, 3)], lambda x: fpad(x, (1, 0, 0, 1), value=1), dtype=np.bool_, grad=False)


NONCONSTANT = [
    # 1-d padding of (C, W) and (N, C, W)
    ((3, 5), (2, 1)),
    ((2, 3, 5), (4, 4)),
    ((2, 3, 5), (-1, 3)),
    ((2, 3, 5), (2, -2)),
    ((2, 3, 5), (-1, -1)),
    ((0, 3, 5), (1, 2)),
    # 2-d padding of (C, H, W) and (N, C, H, W)
    ((2, 4, 5), (1, 2, 3, 0)),
    ((2, 2, 4, 5), (2, 2, 1, 1)),
    ((2, 2, 4, 5), (-1, 2, 3, -2)),
    ((1, 2, 4, 5), (0, 0, 2, 2)),
    # 3-d padding of (C, D, H, W) and (N, C, D, H, W)
    ((2, 3, 4, 5), (1, 2, 1, 0, 2, 1)),
    ((1, 2, 3, 4, 5), (2, 1, 0, 3, 1, 1)),
    ((1, 2, 3, 4, 5), (-1, 1, 1, -1, 0, 2)),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,p", NONCONSTANT)
def test_pad_nonconstant(shape, p, mode, layout):
    invalid = any(
        max(lo, hi) >= n if mode == "reflect" else mode == "circular" and max(lo, hi) > n + min(lo, 0) + min(hi, 0)
        for n, lo, hi in zip(shape[::-1], p[::2], p[1::2])
    )
    if invalid:  # torch refuses these (or returns garbage); ember must refuse them too
        with pytest.raises(em.ShapeError, match=f"pad: {mode} padding"):
            em.pad(em.zeros(shape), p, mode=mode)
        return
    check_op([shape], lambda x: fpad(x, p, mode=mode), layout=layout)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_nonconstant_large_negative(mode):
    x = np.arange(5.0).reshape(1, 1, 5)
    cases = {
        "reflect": [(-5, 2), (4, -3), (-2, 4), (-4, 0)],
        "replicate": [(-5, 2), (4, -3), (-7, 3)],
        "circular": [(-3, -1), (-5, 0)],
    }
    for p in cases[mode]:
        check_op(None, lambda t, p=p: fpad(t, p, mode=mode), inputs=[x])


def test_pad_errors():
    x = em.randn(1, 2, 3)
    with pytest.raises(em.ShapeError, match=r"pad: padding length must be divisible by 2, got 3 values \(1, 2, 3\)"):
        em.pad(x, (1, 2, 3))
    with pytest.raises(em.ShapeError, match=r"pad: padding length 8 .*\(1, 2, 3\)"):
        em.pad(x, (1,) * 8)
    with pytest.raises(
        em.ShapeError,
        match=r"pad: padding \(-2, -2\) of dimension 2 of the input of shape \(1, 2, 3\) gives a negative output size -1",
    ):
        em.pad(x, (-2, -2))
    with pytest.raises(em.ShapeError, match=r"pad: padding \(-4, 1\) of dimension 2"):
        em.pad(x, (-4, 1))
    with pytest.raises(
        em.ShapeError,
        match=r"pad: reflect padding \(3, 0\) must be less than the input size 3 of dimension 2 \(input shape \(1, 2, 3\)\)",
    ):
        em.pad(x, (3, 0), mode="reflect")
    with pytest.raises(
        em.ShapeError, match=r"pad: circular padding \(0, 4\) of dimension 2 wraps around more than once"
    ):
        em.pad(x, (0, 4), mode="circular")
    with pytest.raises(
        em.ShapeError,
        match=r"pad: mode 'replicate' with padding \(1, 1\) pads the last 1 dims of a 2D or 3D input, got shape \(3,\)",
    ):
        em.pad(em.randn(3), (1, 1), mode="replicate")
    with pytest.raises(em.ShapeError, match=r"pad: mode 'reflect' with padding \(1, 1\).*\(1, 2, 3, 4, 5\)"):
        em.pad(em.randn(1, 2, 3, 4, 5), (1, 1), mode="reflect")
    with pytest.raises(
        em.ShapeError, match=r"pad: mode 'reflect' expects .*non-zero dimensions, got shape \(2, 0, 3\)"
    ):
        em.pad(em.randn(2, 0, 3), (1, 1), mode="reflect")
    with pytest.raises(em.ShapeError, match=r"pad: replicate padding \(-3, 0\) of dimension 2 .* output size of 0"):
        em.pad(x, (-3, 0), mode="replicate")
    with pytest.raises(ValueError, match="pad: unknown mode 'wrap'"):
        em.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="doesn't take in value"):
        em.pad(x, (1, 1), mode="reflect", value=2.0)


# -------------------------------------------------------- finite-difference checks
GRADCHECKS = {
    "reshape": ([(2, 3)], lambda x: x.reshape(3, 2)),
    "reshape_transposed": ([(2, 3)], lambda x: x.t().reshape(6)),
    "view_as": ([(2, 3), (3, 2)], lambda x, y: x.view_as(y) * y),
    "flatten": ([(2, 3, 2)], lambda x: x.flatten(1)),
    "unflatten": ([(2, 6)], lambda x: x.unflatten(1, (3, 2))),
    "squeeze": ([(2, 1, 3)], lambda x: x.squeeze(1)),
    "unsqueeze": ([(2, 3)], lambda x: x.unsqueeze(-1)),
    "permute": ([(2, 3, 2)], lambda x: x.permute(2, 0, 1)),
    "transpose": ([(2, 3)], lambda x: x.transpose(0, 1)),
    "t": ([(2, 3)], lambda x: x.t()),
    "movedim": ([(2, 3, 2)], lambda x: x.movedim(0, -1)),
    "expand": ([(2, 1)], lambda x: x.expand(3, 2, 4)),
    "broadcast_tensors": ([(2, 1), (3,)], lambda x, y: em.broadcast_tensors(x, y)),
    "repeat": ([(2, 3)], lambda x: x.repeat(2, 1, 2)),
    "tile": ([(2, 3)], lambda x: x.tile((2,))),
    "repeat_interleave_int": ([(2, 3)], lambda x: x.repeat_interleave(2, dim=1)),
    "repeat_interleave_tensor": ([(2, 3)], lambda x: x.repeat_interleave(em.tensor([2, 0, 3]), dim=1)),
    "cat": ([(2, 3), (2, 1)], lambda x, y: em.cat([x, y, x], 1)),
    "stack": ([(2, 3), (2, 3)], lambda x, y: em.stack([x, y], 1)),
    "hstack": ([(2, 3), (2, 1)], lambda x, y: em.hstack([x, y])),
    "vstack": ([(3,), (2, 3)], lambda x, y: em.vstack([x, y])),
    "dstack": ([(2, 3), (2, 3)], lambda x, y: em.dstack([x, y])),
    "split": ([(5, 2)], lambda x: x.split([2, 3])),
    "split_partial": ([(5, 2)], lambda x: x.split(2)[1]),
    "chunk": ([(2, 5)], lambda x: x.chunk(2, 1)),
    "unbind": ([(3, 2)], lambda x: x.unbind(1)),
    "narrow": ([(4, 3)], lambda x: x.narrow(0, 1, 2)),
    "flip": ([(2, 3)], lambda x: x.flip((0, 1))),
    "fliplr": ([(2, 3)], lambda x: x.fliplr()),
    "roll": ([(2, 3)], lambda x: x.roll((1, -1), (0, 1))),
    "roll_flat": ([(2, 3)], lambda x: x.roll(2)),
    "tril": ([(3, 4)], lambda x: x.tril(-1)),
    "triu": ([(2, 3, 3)], lambda x: x.triu(1)),
    "diagonal": ([(2, 3, 4)], lambda x: x.diagonal(1, 0, 2)),
    "diag_vector": ([(3,)], lambda x: x.diag(1)),
    "diag_matrix": ([(3, 4)], lambda x: x.diag(-1)),
    "diag_embed": ([(2, 3)], lambda x: x.diag_embed(1)),
    "pad_constant": ([(2, 3)], lambda x: em.pad(x, (1, -1, 2, 0), value=3.0)),
    "pad_reflect": ([(1, 3, 4)], lambda x: em.pad(x, (2, 3, -1, 2), mode="reflect")),
    "pad_replicate": ([(1, 2, 3)], lambda x: em.pad(x, (2, -1), mode="replicate")),
    "pad_circular": ([(1, 1, 2, 3, 3)], lambda x: em.pad(x, (1, 2, -1, 1, 2, 0), mode="circular")),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradcheck(name):
    shapes, fn = GRADCHECKS[name]
    check_gradcheck(shapes, fn)


@pytest.mark.parametrize(
    "name",
    ["repeat", "repeat_interleave_tensor", "cat", "stack", "split_partial", "unbind", "narrow", "flip", "roll", "tril"]
    + ["diagonal", "diag_vector", "diag_matrix", "diag_embed", "pad_constant", "pad_reflect", "pad_replicate"]
    + ["pad_circular"],
)
def test_backward_is_differentiable(name):
    """The backward of these linear ops is itself an op: finite differences of the vector-Jacobian product in the cotangent."""
    shapes, fn = GRADCHECKS[name]
    xs = [em.Tensor(make_array(s, np.float64), requires_grad=True) for s in shapes]
    outs = fn(*xs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    cotangents = [em.Tensor(make_array(o.shape, np.float64), requires_grad=True) for o in outs]

    def vjp(*vs):
        with em.enable_grad():  # gradcheck evaluates fn under no_grad for finite differences
            return tuple(em.grad(list(fn(*xs)) if len(outs) > 1 else fn(*xs), xs, list(vs), create_graph=True))

    assert all(g.requires_grad for g in vjp(*cotangents))
    assert em.autograd.gradcheck(vjp, cotangents)


def test_second_derivative_through_a_nonlinear_composition():
    def fn(x):
        return (em.pad(x, (2, 1), mode="reflect").diag_embed() ** 2).split(2, -1)[1]

    v = em.Tensor(make_array((1, 2, 6, 2), np.float64))

    def vjp(x):
        with em.enable_grad():  # ember's gradgradcheck evaluates this under no_grad, so it cannot be used here
            return em.grad(fn(x), x, v, create_graph=True)[0]

    check_gradcheck([(1, 2, 3)], vjp)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("view", lambda: em.zeros(2, 3).view(4, 2)),
        ("view", lambda: em.zeros(2, 3).view(-1, 4)),
        ("expand_as", lambda: em.zeros(2, 3).expand_as(em.zeros(2, 4))),
        ("broadcast_to", lambda: em.broadcast_to(em.zeros(2, 3), (2, 4))),
        ("broadcast_to", lambda: em.zeros(2, 3).broadcast_to([3])),
        ("concat", lambda: em.concat([em.zeros(2, 3), em.zeros(2, 4)])),
        ("concatenate", lambda: em.concatenate([em.zeros(2, 3), em.zeros(2, 4)], axis=0)),
        ("hstack", lambda: em.hstack([em.zeros(2, 3), em.zeros(3, 3)])),
        ("vstack", lambda: em.vstack([em.zeros(3), em.zeros(4)])),
        ("dstack", lambda: em.dstack([em.zeros(2, 3), em.zeros(2, 4)])),
        ("column_stack", lambda: em.column_stack([em.zeros(3), em.zeros(4)])),
    ],
)
def test_shape_errors_name_the_function_called(name, fn):
    with pytest.raises(em.ShapeError, match=f"^{name}:"):
        fn()


def test_view_to_the_same_shape_is_a_view():
    x = em.randn(2, 3)
    y = x.view(2, 3)
    y[0, 0] = 5.0
    assert x[0, 0].item() == 5.0 and y._version == x._version
    check_op([(2, 3)], lambda x: x.view(2, 3) * 2)
