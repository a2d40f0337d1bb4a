"""Matrix products, einsum and ember.linalg against PyTorch, forward and backward."""

import math

import numpy as np
import pytest
import torch

import ember as em
from ember.autograd import gradgradcheck
from tests.helpers import check_gradcheck, check_op, rng


def _f64(*shapes):
    return [em.tensor(rng().standard_normal(s), requires_grad=True) for s in shapes]


# ---------------------------------------------------------------- matmul family
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((3,), (2, 3, 4)),
    ((4, 3), (3,)),
    ((2, 4, 3), (3,)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 3, 0), (0, 4)),
]


@pytest.mark.parametrize("a,b", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_matmul(a, b, layout):
    check_op([a, b], lambda x, y: x @ y, layout=layout, atol=1e-4)


@pytest.mark.parametrize("a,b", MATMUL_SHAPES[:-1], ids=str)
def test_matmul_gradcheck(a, b):
    check_gradcheck([a, b], lambda x, y: em.matmul(x, y))


def test_matmul_double_backward():
    assert gradgradcheck(lambda x, y: (x @ y) ** 2, _f64((2, 3, 4), (4, 2)))


def test_matmul_errors():
    a, b = em.zeros(3, 4), em.zeros(5, 6)
    with pytest.raises(
        em.ShapeError,
        match=r"^matmul: cannot multiply \(3, 4\) by \(5, 6\): dimension 1 of the first \(4\) must equal "
        r"dimension 0 of the second \(5\)$",
    ):
        a @ b
    with pytest.raises(em.ShapeError, match=r"matmul: cannot take the dot product of \(3,\) and \(4,\)"):
        em.zeros(3) @ em.zeros(4)
    with pytest.raises(em.ShapeError, match=r"batch dimensions of \(2, 3, 4\) and \(3, 4, 5\) do not broadcast"):
        em.zeros(2, 3, 4) @ em.zeros(3, 4, 5)
    with pytest.raises(em.DTypeError, match="float32 and ember.float64"):
        em.zeros(2, 2) @ em.zeros(2, 2, dtype=em.float64)
    with pytest.raises(TypeError, match="matmul: expected two tensors, got Tensor and ndarray"):
        em.zeros(2, 2) @ np.zeros((2, 2), np.float32)


def test_mm_bmm_mv_dot_vdot():
    check_op([(3, 4), (4, 5)], lambda a, b: a.mm(b), layout="transposed")
    check_op([(2, 3, 4), (2, 4, 5)], lambda a, b: em.bmm(a, b), torch.bmm, layout="sliced")
    check_op([(3, 4), (4,)], lambda a, b: a.mv(b))
    check_op([(5,), (5,)], lambda a, b: a.dot(b), layout="sliced")
    check_op([(5,), (5,)], lambda a, b: em.vdot(a, b), torch.vdot)
    check_gradcheck([(2, 3, 4), (2, 4, 2)], em.bmm)
    check_gradcheck([(3, 4), (4,)], em.mv)


@pytest.mark.parametrize(
    "fn,a,b,msg",
    [
        (em.mm, (3, 4), (5, 6), r"^mm: cannot multiply \(3, 4\) by \(5, 6\): dimension 1 of the first \(4\) must "
         r"equal dimension 0 of the second \(5\)$"),
        (em.bmm, (2, 3, 4), (2, 5, 6), r"^bmm: cannot multiply \(2, 3, 4\) by \(2, 5, 6\): dimension 2 of the first "
         r"\(4\) must equal dimension 1 of the second \(5\)$"),
        (em.mv, (3, 4), (5,), r"^mv: cannot multiply \(3, 4\) by \(5,\): dimension 1 of the first \(4\) must equal "
         r"dimension 0 of the second \(5\)$"),
        (em.dot, (3,), (4,), r"^dot: cannot multiply \(3,\) by \(4,\): dimension 0 of the first \(3\) must equal "
         r"dimension 0 of the second \(4\)$"),
        (em.bmm, (2, 3, 4), (3, 4, 5), r"bmm: batch sizes of \(2, 3, 4\) and \(3, 4, 5\) must be equal \(2 vs 3\)"),
        (em.mm, (3,), (3, 4), r"mm: expected 2-d and 2-d tensors, got shapes \(3,\) and \(3, 4\)"),
        (em.dot, (2, 3), (3,), r"dot: expected 1-d and 1-d tensors"),
    ],
)  # fmt: skip
def test_matmul_family_errors(fn, a, b, msg):
    with pytest.raises(em.ShapeError, match=msg):
        fn(em.zeros(*a), em.zeros(*b))


def test_outer_inner():
    check_op([(3,), (4,)], lambda a, b: a.outer(b))
    check_op([(3,), (4,)], lambda a, b: em.ger(a, b), torch.outer)
    for a, b in [((4,), (4,)), ((2, 4), (4,)), ((2, 4), (3, 4)), ((2, 3, 4), (5, 4)), ((), (3, 2))]:
        check_op([a, b], lambda x, y: em.inner(x, y), torch.inner, atol=1e-4)
    with pytest.raises(em.ShapeError, match=r"inner: cannot multiply \(2, 3\) by \(4,\)"):
        em.inner(em.zeros(2, 3), em.zeros(4))


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
@pytest.mark.parametrize("cshape", [(3, 5), (5,), (1, 1)])
def test_addmm(beta, alpha, cshape):
    check_op(
        [cshape, (3, 4), (4, 5)],
        lambda c, a, b: em.addmm(c, a, b, beta=beta, alpha=alpha),
        lambda c, a, b: torch.addmm(c, a, b, beta=beta, alpha=alpha),
    )


def test_addmm_input_shape_error():
    with pytest.raises(em.ShapeError, match=r"addmm: input \(4,\) does not broadcast to the product's shape \(3, 5\)"):
        em.addmm(em.zeros(4), em.zeros(3, 2), em.zeros(2, 5))


def test_addmm_inplace_and_baddbmm():
    check_op(
        [(3, 5), (3, 4), (4, 5)],
        lambda c, a, b: (c * 1).addmm_(a, b, alpha=0.5),
        lambda c, a, b: (c * 1).addmm_(a, b, alpha=0.5),
    )
    check_op(
        [(2, 3, 5), (2, 3, 4), (2, 4, 5)],
        lambda c, a, b: c.baddbmm(a, b, beta=2.0),
        lambda c, a, b: c.baddbmm(a, b, beta=2.0),
    )
    check_gradcheck([(3,), (2, 4), (4, 3)], lambda c, a, b: em.addmm(c, a, b, beta=0.5, alpha=3.0))
    check_gradcheck([(2, 3, 2), (2, 3, 4), (2, 4, 2)], lambda c, a, b: em.baddbmm(c, a, b))


# ---------------------------------------------------------------- linear
@pytest.mark.parametrize("xshape", [(5,), (4, 5), (2, 3, 5), (0, 5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_linear(xshape, bias, layout):
    shapes = [xshape, (6, 5)] + ([(6,)] if bias else [])
    check_op(
        shapes,
        lambda x, w, *b: em.ops.linalg.linear(x, w, *b),
        lambda x, w, *b: torch.nn.functional.linear(x, w, *b),
        layout=layout,
        atol=1e-4,
    )


@pytest.mark.parametrize("xshape", [(1, 784), (784,), (1, 1, 784)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_of_one_row_matches_torch(xshape, bias, dtype):
    # one row takes the Numba kernel (ember.kernels.linear); sums of 784 products of values in [-2, 2]
    shapes = [xshape, (300, 784)] + ([(300,)] if bias else [])
    tol = {"atol": 2e-4, "rtol": 1e-4} if dtype == np.float32 else {"atol": 1e-11, "rtol": 1e-10}
    check_op(
        shapes,
        lambda x, w, *b: em.ops.linalg.linear(x, w, *b),
        lambda x, w, *b: torch.nn.functional.linear(x, w, *b),
        dtype=dtype,
        **tol,
    )


@pytest.mark.parametrize("bias", [True, False])
def test_linear_of_one_row_without_grad(bias):
    # under no_grad one row skips the Function (nothing to record) and still matches torch
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((1, 300)), rng.standard_normal((200, 300)), rng.standard_normal(200)
    args = (em.tensor(x), em.tensor(w, requires_grad=True)) + ((em.tensor(b),) if bias else ())
    with em.no_grad():
        got = em.ops.linalg.linear(*args)
    expected = torch.nn.functional.linear(*(torch.tensor(a) for a in ((x, w, b) if bias else (x, w))))
    assert not got.requires_grad and got.grad_fn is None
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-10)
    recorded = em.ops.linalg.linear(*args)  # with grad: through the Function, so it can backpropagate
    assert recorded.grad_fn is not None
    np.testing.assert_allclose(recorded.data, got.data, rtol=0, atol=0)


def test_linear_of_a_strided_row():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((1, 40)), rng.standard_normal((7, 20)), rng.standard_normal(7)
    got = em.ops.linalg.linear(em.tensor(x)[:, ::2], em.tensor(w), em.tensor(b))
    np.testing.assert_allclose(got.data, x[:, ::2] @ w.T + b, rtol=1e-12, atol=1e-12)


def test_linear_gradcheck_and_double_backward():
    check_gradcheck([(1, 4), (5, 4), (5,)], em.ops.linalg.linear)
    check_gradcheck([(2, 3, 4), (5, 4), (5,)], em.ops.linalg.linear)
    assert gradgradcheck(lambda x, w, b: em.ops.linalg.linear(x, w, b) ** 2, _f64((3, 4), (2, 4), (2,)))


def test_linear_errors():
    linear = em.ops.linalg.linear
    with pytest.raises(
        em.ShapeError,
        match=r"linear: cannot multiply \(8, 3\) by the transpose of weight \(5, 4\): dimension 1 of the input "
        r"\(3\) must equal dimension 1 of the weight \(4\)",
    ):
        linear(em.zeros(8, 3), em.zeros(5, 4))
    with pytest.raises(em.ShapeError, match=r"linear: bias \(4,\) does not match weight \(5, 4\)"):
        linear(em.zeros(8, 4), em.zeros(5, 4), em.zeros(4))
    with pytest.raises(em.DTypeError, match="float32 but weight is ember.float64"):
        linear(em.zeros(8, 4), em.zeros(5, 4, dtype=em.float64))


# ---------------------------------------------------------------- einsum
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("i,ij,j", [(3,), (3, 4), (4,)]),
    ("iij->j", [(3, 3, 4)]),
    ("iji,j->ij", [(3, 4, 3), (4,)]),
    ("ij,j", [(3, 4), (1,)]),
    ("bij,bkj->bik", [(1, 3, 4), (2, 5, 4)]),
    ("ab,cd->abcd", [(2, 3), (4, 5)]),
    ("ij,jk->", [(3, 4), (4, 2)]),
    ("i,i,i->i", [(4,), (4,), (4,)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("...->...", [(2, 3)]),
    ("i...j,j...->...i", [(2, 3, 4), (4, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum(eq, shapes):
    check_op(shapes, lambda *ops: em.einsum(eq, *ops), lambda *ops: torch.einsum(eq, *ops), atol=1e-4)


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES[::2], ids=[c[0] for c in EINSUM_CASES[::2]])
def test_einsum_gradcheck(eq, shapes):
    check_gradcheck(shapes, lambda *ops: em.einsum(eq, *ops))


def test_einsum_non_contiguous_list_and_sublist_forms():
    check_op(
        [(4, 3), (5, 4)],
        lambda a, b: em.einsum("ji,kj->ik", [a, b]),
        lambda a, b: torch.einsum("ji,kj->ik", [a, b]),
        layout="transposed",
    )
    check_op(
        [(3, 4), (4, 5)],
        lambda a, b: em.einsum(a, [0, 1], b, [1, 2], [0, 2]),
        lambda a, b: torch.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    )


def test_einsum_double_backward():
    assert gradgradcheck(lambda a, b: em.einsum("ij,jk->ik", a, b) ** 2, _f64((2, 3), (3, 2)))
    assert gradgradcheck(lambda a: em.einsum("ii->i", a) ** 2, _f64((3, 3)))


def test_einsum_output_is_not_a_view_of_the_input():
    x = em.zeros(3, 3)
    y = em.einsum("ij->ji", x)
    y[0, 1] = 5.0
    assert x.data.sum() == 0


def test_einsum_errors():
    a, b = em.zeros(3, 4), em.zeros(5, 6)
    with pytest.raises(em.ShapeError, match=r"subscript 'j' has size 4 in an earlier operand but size 5 in operand 1"):
        em.einsum("ij,jk->ik", a, b)
    with pytest.raises(
        em.ShapeError, match=r"operand 0 has 2 dimensions \(shape \(3, 4\)\) but subscripts 'ijk' name 3"
    ):
        em.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="names 2 operand"):
        em.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="output subscript 'z'"):
        em.einsum("ij->z", a)
    with pytest.raises(em.DTypeError, match="same dtype"):
        em.einsum("ij,jk", a, em.zeros(4, 2, dtype=em.float64))


# ---------------------------------------------------------------- tensordot, kron, trace
@pytest.mark.parametrize(
    "a,b,dims",
    [((3, 4, 5), (4, 5, 2), 2), ((3, 4), (4, 5), 1), ((3, 4), (5,), 0), ((3, 4, 5), (5, 3), ([0, 2], [1, 0]))],
)
def test_tensordot(a, b, dims):
    check_op([a, b], lambda x, y: em.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims), atol=1e-4)


def test_tensordot_error():
    with pytest.raises(em.ShapeError, match=r"cannot contract dimension 1 of \(3, 4\) \(size 4\) with dimension 0"):
        em.tensordot(em.zeros(3, 4), em.zeros(5, 6), 1)


@pytest.mark.parametrize("a,b", [((2, 3), (4, 5)), ((3,), (2,)), ((2, 2), (3,)), ((2, 1, 3), (2, 2))])
def test_kron(a, b):
    check_op([a, b], lambda x, y: x.kron(y))


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2)])
def test_trace(shape):
    check_op([shape], lambda x: x.trace(), layout="transposed")
    check_gradcheck([shape], em.trace)


def test_trace_of_integers_and_errors():
    assert em.arange(9).reshape(3, 3).trace().item() == 12
    with pytest.raises(em.ShapeError, match=r"trace: expected a 2-d tensor, got shape \(3,\)"):
        em.zeros(3).trace()


# ---------------------------------------------------------------- ember.linalg: norms
@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, math.inf, -math.inf, 0])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_vector_norm(ord, dim, keepdim):
    check_op(
        [(3, 4, 5)],
        lambda x: em.linalg.vector_norm(x, ord, dim, keepdim),
        lambda x: torch.linalg.vector_norm(x, ord, dim, keepdim),
        atol=1e-4,
    )


def test_vector_norm_gradcheck_and_zero_vector():
    for p in (2, 1.5, math.inf):
        check_gradcheck([(3, 4)], lambda x, p=p: em.linalg.vector_norm(x, p, 1))
    check_op(
        [],
        lambda x: em.linalg.vector_norm(x),
        lambda x: torch.linalg.vector_norm(x),
        inputs=[np.zeros((3,), np.float32)],
    )


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
@pytest.mark.parametrize("shape,dim", [((3, 4), (-2, -1)), ((2, 3, 4), (-2, -1)), ((4, 2, 3), (2, 0))])
def test_matrix_norm(ord, shape, dim):
    check_op(
        [shape],
        lambda x: em.linalg.matrix_norm(x, ord, dim),
        lambda x: torch.linalg.matrix_norm(x, ord, dim),
        atol=1e-4,
        grad_atol=1e-3,
    )
    check_op(
        [shape],
        lambda x: em.linalg.matrix_norm(x, ord, dim, keepdim=True),
        lambda x: torch.linalg.matrix_norm(x, ord, dim, keepdim=True),
        atol=1e-4,
        grad_atol=1e-3,
    )


def test_matrix_norm_gradcheck():
    for p in ("fro", "nuc", 2, 1, math.inf):
        check_gradcheck([(3, 4)], lambda x, p=p: em.linalg.matrix_norm(x, p))


@pytest.mark.parametrize(
    "shape,ord,dim",
    [
        ((5,), None, None),
        ((3, 4), None, None),
        ((2, 3, 4), None, None),
        ((5,), 1, None),
        ((3, 4), "nuc", None),
        ((3, 4), 3, 1),
        ((2, 3, 4), 2, (1, 2)),
    ],
)
def test_norm(shape, ord, dim):
    check_op([shape], lambda x: em.linalg.norm(x, ord, dim), lambda x: torch.linalg.norm(x, ord, dim), atol=1e-4)


def test_norm_errors():
    with pytest.raises(em.ShapeError, match=r"must be 1-d or 2-d, got shape \(2, 3, 4\)"):
        em.linalg.norm(em.zeros(2, 3, 4), ord=2)
    with pytest.raises(em.DTypeError, match="int64"):
        em.linalg.vector_norm(em.arange(3))
    with pytest.raises(ValueError, match="ord must be"):
        em.linalg.matrix_norm(em.zeros(2, 2), ord=3)


# ---------------------------------------------------------------- inv, det, slogdet, solve
def _well_conditioned(*shape):
    n = shape[-1]
    return (rng().standard_normal(shape) + 3 * np.eye(n)).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_inv_det_slogdet(shape):
    a = _well_conditioned(*shape)
    check_op([], em.linalg.inv, torch.linalg.inv, inputs=[a], atol=1e-4)
    check_op([], lambda x: x.inverse(), lambda x: x.inverse(), inputs=[a], atol=1e-4)
    check_op([], em.linalg.det, torch.linalg.det, inputs=[a], atol=1e-3, rtol=1e-3)
    check_op([], lambda x: x.det(), lambda x: x.det(), inputs=[-a], atol=1e-3, rtol=1e-3)
    check_op(
        [], lambda x: tuple(em.linalg.slogdet(x)), lambda x: tuple(torch.linalg.slogdet(x)), inputs=[-a], atol=1e-4
    )
    check_op([], lambda x: x.logdet(), lambda x: x.logdet(), inputs=[a], atol=1e-4)


def test_inv_det_gradcheck_and_double_backward():
    a = [_well_conditioned(2, 3, 3).astype(np.float64)]
    check_gradcheck([], em.linalg.inv, inputs=a)
    check_gradcheck([], em.linalg.det, inputs=a)
    check_gradcheck([], lambda x: em.linalg.slogdet(x).logabsdet, inputs=a)
    x = em.tensor(a[0], requires_grad=True)
    assert gradgradcheck(lambda t: em.linalg.det(t), [x])
    assert gradgradcheck(lambda t: em.linalg.inv(t), [x])


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix():
    # PyTorch 2.13 returns zeros here; the derivative of det is the (non-zero) cofactor matrix
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = em.tensor(a, requires_grad=True)
    em.linalg.det(x).backward()
    cofactor = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(x.grad.data, cofactor, atol=1e-9)
    check_gradcheck([], em.linalg.det, inputs=[a])


def test_singular_and_shape_errors():
    with pytest.raises(em.linalg.LinAlgError, match="singular"):
        em.linalg.inv(em.zeros(3, 3))
    with pytest.raises(em.ShapeError, match=r"linalg.inv: A must be a \(batch of\) square matrix, got shape \(3, 4\)"):
        em.linalg.inv(em.zeros(3, 4))
    with pytest.raises(em.linalg.LinAlgError, match="not positive-definite"):
        em.linalg.cholesky(-em.eye(2))


@pytest.mark.parametrize(
    "ashape,bshape,left",
    [((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (2, 3), True), ((2, 3, 3), (3, 4), True), ((3, 3), (2, 3, 1), True), ((3, 3), (2, 3), False), ((2, 3, 3), (2, 4, 3), False)],
)  # fmt: skip
def test_solve(ashape, bshape, left):
    a = _well_conditioned(*ashape)
    b = rng().standard_normal(bshape).astype(np.float32)
    check_op(
        [],
        lambda x, y: em.linalg.solve(x, y, left=left),
        lambda x, y: torch.linalg.solve(x, y, left=left),
        inputs=[a, b],
        atol=1e-4,
    )
    check_gradcheck([], lambda x, y: em.linalg.solve(x, y, left=left), inputs=[a.astype(np.float64), b])


def test_solve_shape_error():
    with pytest.raises(em.ShapeError, match=r"A \(3, 3\) and B \(4, 2\) do not fit: B must have 3 rows"):
        em.linalg.solve(em.eye(3), em.zeros(4, 2))


# ---------------------------------------------------------------- decompositions
def _spd(x):
    """A symmetric positive-definite function of an arbitrary square input."""
    n = x.shape[-1]
    return x @ x.mT + n * (em.eye(n, dtype=x.dtype) if isinstance(x, em.Tensor) else torch.eye(n, dtype=x.dtype))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper):
    check_op(
        [shape],
        lambda x: em.linalg.cholesky(_spd(x), upper=upper),
        lambda x: torch.linalg.cholesky(_spd(x), upper=upper),
        atol=1e-4,
    )
    check_gradcheck([shape], lambda x: em.linalg.cholesky(_spd(x), upper=upper))


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (2, 4, 2)])
def test_qr(shape):
    check_op(
        [shape],
        lambda x: tuple(em.linalg.qr(x)),
        lambda x: tuple(torch.linalg.qr(x)),
        atol=1e-4,
        grad_atol=1e-3,
    )
    check_gradcheck([shape], lambda x: tuple(em.linalg.qr(x)))


def test_qr_wide_gradient_is_a_clear_error():
    x = em.randn(2, 4, requires_grad=True)
    q, r = em.linalg.qr(x)
    with pytest.raises(em.AutogradError, match="tall or square"):
        r.sum().backward()


def _svd_invariants(lib):
    """Outputs of the SVD that do not depend on the sign choice of singular vectors."""

    def fn(x):
        u, s, vh = lib.linalg.svd(x, full_matrices=False)
        return s, u @ vh, (u * u)

    return fn


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)])
def test_svd(shape):
    check_op([shape], _svd_invariants(em), _svd_invariants(torch), atol=1e-4, grad_atol=1e-3, grad_rtol=1e-3)
    check_gradcheck([shape], _svd_invariants(em))
    check_op([shape], em.linalg.svdvals, torch.linalg.svdvals, atol=1e-4, grad_atol=1e-3)


def test_svd_full_matrices_forward():
    x = rng().standard_normal((4, 2)).astype(np.float32)
    u, s, vh = em.linalg.svd(em.tensor(x))
    assert u.shape == (4, 4) and s.shape == (2,) and vh.shape == (2, 2)
    np.testing.assert_allclose(((u[:, :2] * s) @ vh).data, x, atol=1e-5)


def _eigh_invariants(lib):
    def fn(x):
        w, v = lib.linalg.eigh(x + x.mT)
        return w, v * v

    return fn


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_eigh(shape):
    check_op([shape], _eigh_invariants(em), _eigh_invariants(torch), atol=1e-4, grad_atol=1e-3, grad_rtol=1e-3)
    check_gradcheck([shape], _eigh_invariants(em))
    check_op([shape], lambda x: em.linalg.eigvalsh(x, "U"), lambda x: torch.linalg.eigvalsh(x, "U"), atol=1e-4)


def test_decomposition_second_derivative_is_a_clear_error():
    x = em.tensor(rng().standard_normal((3, 3)), requires_grad=True)
    w = em.linalg.eigvalsh(x + x.mT)
    (g,) = em.grad(w.sum(), [x], create_graph=True)
    with pytest.raises(em.AutogradError, match="linalg.eigh: second derivatives are not implemented"):
        g.sum().backward()


def test_matrix_power_multi_dot_vecdot():
    a = _well_conditioned(3, 3) / 3
    for n in (0, 1, 2, 5, -2):
        check_op(
            [],
            lambda x, n=n: em.linalg.matrix_power(x, n),
            lambda x, n=n: torch.linalg.matrix_power(x, n),
            inputs=[a],
            atol=1e-4,
        )
    check_op([(3,), (3, 4), (4, 2), (2,)], lambda *t: em.linalg.multi_dot(t), lambda *t: torch.linalg.multi_dot(t))
    check_op([(2, 5), (5,)], lambda x, y: em.linalg.vecdot(x, y), lambda x, y: torch.linalg.vecdot(x, y))


def test_linalg_is_loaded_lazily():
    import subprocess
    import sys

    code = "import sys, ember; assert 'ember.linalg' not in sys.modules; ember.linalg.det; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
