"""Shape-error messages of the core ops (issue 2) and the functional ops (issue 3).

Issue 2: "A shape error names the op, every operand's shape and the mismatched axis". Issue 3:
a bad input "is a clear error" naming the numbers involved. Each case lists the regular
expressions the message must contain: the op's public name, the shape of each operand that
clashes, and for a clash along an axis (broadcasting, matrix dims, cat), that axis. A case whose
message misses one of them is a bug, kept here as a strict xfail that says what is missing.
"""

from __future__ import annotations

import re

import pytest

import ember as em
import ember.nn.functional as F
from ember.errors import DTypeError, ShapeError

Z = em.zeros


def L(*shape):  # noqa: N802 - an int64 label tensor, as torch's LongTensor
    return em.zeros(*shape, dtype=em.int64)


def B(*shape):  # noqa: N802 - a bool mask
    return em.zeros(*shape, dtype=em.bool)


def _s(*dims) -> str:
    """The regex of a shape as ember prints it: (2, 3), (3,), ()."""
    text = "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
    return re.escape(text)


def _case(name, fn, exc, *parts, bug=None):
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(fn, exc, parts, id=name, marks=marks)


def _check(fn, exc, parts):
    with pytest.raises(exc, match=parts[0]) as info:
        fn()
    message = str(info.value)
    missing = [p for p in parts[1:] if not re.search(p, message)]
    assert not missing, f"message {message!r} lacks {missing}"


# --------------------------------------------------------------------------- issue 2: core ops
CORE_CASES = [
    # elementwise broadcasting: both shapes and the clashing dimension (counted from the right)
    _case(
        "add_operator",
        lambda: Z(2, 3) + Z(4, 3),
        ShapeError,
        r"^add: shapes \(2, 3\) and \(4, 3\) do not broadcast: dimension -2 has size 2 in the first and 4 in the "
        r"second$",
    ),
    _case("add_function", lambda: em.add(Z(2, 3), Z(2, 4)), ShapeError, "^add:", _s(2, 3), _s(2, 4), "dimension -1"),
    _case("mul_3d", lambda: Z(5, 3, 4) * Z(2, 1, 4), ShapeError, "^mul:", _s(5, 3, 4), _s(2, 1, 4), "dimension -3"),
    _case("sub", lambda: Z(3) - Z(4), ShapeError, "^sub:", _s(3), _s(4), "dimension -1"),
    _case("div", lambda: Z(3) / Z(2, 4), ShapeError, "^div:", _s(3), _s(2, 4), "dimension -1"),
    _case("pow", lambda: Z(3) ** Z(4), ShapeError, "^pow:", _s(3), _s(4), "dimension -1"),
    _case("maximum", lambda: em.maximum(Z(3), Z(4)), ShapeError, "^maximum:", _s(3), _s(4), "dimension -1"),
    _case("atan2", lambda: em.atan2(Z(2, 3), Z(3, 2)), ShapeError, "^atan2:", _s(2, 3), _s(3, 2), "dimension -1"),
    _case("eq", lambda: Z(3) == Z(4), ShapeError, "^eq:", _s(3), _s(4), "dimension -1"),
    _case(
        "where_values",
        lambda: em.where(B(3), Z(4), Z(3)),
        ShapeError,
        "^where",
        _s(3),
        _s(4),
        "dimension -1",
    ),
    _case(
        "where_condition",
        lambda: em.where(B(5), Z(3), Z(3)),
        ShapeError,
        "^where:",
        r"condition \(5,\)",
        _s(3),
        "dimension -1 has size 5 in condition",
    ),
    _case(
        "lerp",
        lambda: em.lerp(Z(3), Z(4), 0.5),
        ShapeError,
        "^lerp:",
        _s(3),
        _s(4),
        "dimension -1",
    ),
    _case(
        "add_inplace",
        lambda: Z(3).add_(Z(2, 3)),
        ShapeError,
        "add_",
        _s(3),
        _s(2, 3),
    ),
    # matrix products: both shapes and the two dimensions that must agree
    _case(
        "matmul_2d",
        lambda: em.matmul(Z(3, 4), Z(5, 6)),
        ShapeError,
        r"^matmul: cannot multiply \(3, 4\) by \(5, 6\): dimension 1 of the first \(4\) must equal dimension 0 of "
        r"the second \(5\)$",
    ),
    _case(
        "matmul_operator_batched",
        lambda: Z(2, 3, 4) @ Z(2, 5, 6),
        ShapeError,
        "^matmul:",
        _s(2, 3, 4),
        _s(2, 5, 6),
        r"dimension 2 of the first \(4\) must equal dimension 1 of the second \(5\)",
    ),
    _case(
        "matmul_2d_by_1d",
        lambda: em.matmul(Z(3, 4), Z(5)),
        ShapeError,
        "^matmul:",
        _s(3, 4),
        _s(5),
        r"dimension 1 of the first \(4\) must equal dimension 0 of the second \(5\)",
    ),
    _case(
        "matmul_1d_by_2d",
        lambda: em.matmul(Z(3), Z(4, 5)),
        ShapeError,
        "^matmul:",
        _s(3),
        _s(4, 5),
        r"dimension 0 of the first \(3\) must equal dimension 0 of the second \(4\)",
    ),
    _case("matmul_1d", lambda: em.matmul(Z(3), Z(4)), ShapeError, "^matmul:", _s(3), _s(4), "same length"),
    _case(
        "matmul_batch_dims",
        lambda: em.matmul(Z(2, 3, 4), Z(3, 4, 5)),
        ShapeError,
        "^matmul:",
        _s(2, 3, 4),
        _s(3, 4, 5),
        "batch dimensions",
        r"\(2,\) vs \(3,\)",
    ),
    _case("matmul_0d", lambda: em.matmul(Z(), Z(3)), ShapeError, "^matmul:", _s(), _s(3), "at least 1 dimension"),
    _case(
        "mm",
        lambda: em.mm(Z(3, 4), Z(5, 6)),
        ShapeError,
        "^mm:",
        _s(3, 4),
        _s(5, 6),
        r"dimension 1 of the first \(4\) must equal dimension 0 of the second \(5\)",
    ),
    _case("mm_3d", lambda: em.mm(Z(2, 3, 4), Z(4, 6)), ShapeError, "^mm:", "2-d", _s(2, 3, 4), _s(4, 6)),
    _case(
        "bmm",
        lambda: em.bmm(Z(2, 3, 4), Z(2, 5, 6)),
        ShapeError,
        "^bmm:",
        _s(2, 3, 4),
        _s(2, 5, 6),
        r"dimension 2 of the first \(4\) must equal dimension 1 of the second \(5\)",
    ),
    _case(
        "bmm_batch",
        lambda: em.bmm(Z(2, 3, 4), Z(3, 4, 6)),
        ShapeError,
        "^bmm:",
        _s(2, 3, 4),
        _s(3, 4, 6),
        r"batch sizes .* \(2 vs 3\)",
    ),
    _case("bmm_2d", lambda: em.bmm(Z(3, 4), Z(4, 5)), ShapeError, "^bmm:", "3-d", _s(3, 4), _s(4, 5)),
    _case(
        "mv",
        lambda: em.mv(Z(3, 4), Z(5)),
        ShapeError,
        "^mv:",
        _s(3, 4),
        _s(5),
        r"dimension 1 of the first \(4\) must equal dimension 0 of the second \(5\)",
    ),
    _case("mv_2d_vector", lambda: em.mv(Z(3, 4), Z(4, 1)), ShapeError, "^mv:", _s(3, 4), _s(4, 1)),
    _case(
        "dot",
        lambda: em.dot(Z(3), Z(4)),
        ShapeError,
        "^dot:",
        _s(3),
        _s(4),
        r"dimension 0 of the first \(3\) must equal dimension 0 of the second \(4\)",
    ),
    _case("dot_2d", lambda: em.dot(Z(3, 1), Z(3)), ShapeError, "^dot:", "1-d", _s(3, 1), _s(3)),
    _case("outer_2d", lambda: em.outer(Z(3, 2), Z(3)), ShapeError, "^outer:", "1-d", _s(3, 2), _s(3)),
    _case(
        "linear",
        lambda: F.linear(Z(8, 3), Z(5, 4)),
        ShapeError,
        "^linear:",
        _s(8, 3),
        _s(5, 4),
        r"dimension 1 of the input \(3\) must equal dimension 1 of the weight \(4\)",
    ),
    _case("linear_bias", lambda: F.linear(Z(8, 4), Z(5, 4), Z(4)), ShapeError, "^linear:", _s(4), _s(5, 4), _s(5)),
    _case(
        "einsum",
        lambda: em.einsum("ij,jk->ik", Z(3, 4), Z(5, 6)),
        ShapeError,
        "^einsum:",
        "'j'",
        "size 4",
        "size 5",
        _s(3, 4),
        _s(5, 6),
    ),
    _case("einsum_rank", lambda: em.einsum("ij,jk->ik", Z(3, 4), Z(4)), ShapeError, "^einsum:", _s(4), "'jk'"),
    _case(
        "linalg_solve",
        lambda: em.linalg.solve(Z(3, 3), Z(4, 2)),
        ShapeError,
        "^linalg.solve:",
        _s(3, 3),
        _s(4, 2),
        "3 rows",
    ),
    _case(
        "linalg_solve_batch",
        lambda: em.linalg.solve(Z(2, 3, 3), Z(3, 3, 1)),
        ShapeError,
        "^linalg.solve:",
        _s(2, 3, 3),
        _s(3, 3, 1),
        "batch dimensions",
    ),
    _case("linalg_inv", lambda: em.linalg.inv(Z(3, 4)), ShapeError, "^linalg.inv:", _s(3, 4), "square"),
    _case("linalg_det", lambda: em.linalg.det(Z(3, 4)), ShapeError, "^linalg.det:", _s(3, 4), "square"),
    # joining
    _case(
        "cat",
        lambda: em.cat([Z(2, 3), Z(2, 4)], 0),
        ShapeError,
        r"^cat: tensor 1 has shape \(2, 4\) but tensor 0 has shape \(2, 3\): sizes must match except in dimension 0$",
    ),
    _case("cat_dim1", lambda: em.cat([Z(2, 3), Z(3, 3)], 1), ShapeError, "^cat:", _s(3, 3), _s(2, 3), "dimension 1"),
    _case("cat_rank", lambda: em.cat([Z(2, 3), Z(2, 3, 1)]), ShapeError, "^cat:", _s(2, 3, 1), _s(2, 3)),
    _case("stack", lambda: em.stack([Z(2, 3), Z(2, 4)]), ShapeError, "^stack:", _s(2, 4), _s(2, 3)),
    _case(
        "hstack",
        lambda: em.hstack([Z(2, 3), Z(3, 3)]),
        ShapeError,
        "^hstack:",
        _s(3, 3),
        _s(2, 3),
    ),
    _case(
        "vstack",
        lambda: em.vstack([Z(2, 3), Z(2, 4)]),
        ShapeError,
        "^vstack:",
        _s(2, 4),
        _s(2, 3),
    ),
    # reshaping
    _case("reshape", lambda: Z(2, 3).reshape(4, 2), ShapeError, "^reshape:", _s(4, 2), "size 6", _s(2, 3)),
    _case(
        "view",
        lambda: Z(2, 3).view(4, 2),
        ShapeError,
        "^view:",
        _s(4, 2),
        _s(2, 3),
    ),
    _case(
        "view_needs_copy",
        lambda: Z(2, 3).t().view(6),
        ShapeError,
        "^view:",
        _s(3, 2),
        _s(6),
        r"reshape\(",
    ),
    _case(
        "expand",
        lambda: Z(2, 3).expand(4, 3),
        ShapeError,
        "^expand:",
        _s(4, 3),
        _s(2, 3),
        "dimension 0",
    ),
    _case(
        "broadcast_to",
        lambda: em.broadcast_to(Z(2, 3), (2, 4)),
        ShapeError,
        "^broadcast_to:",
        _s(2, 4),
        _s(2, 3),
        "dimension 1",
    ),
    _case("unflatten", lambda: Z(3, 4).unflatten(1, (3, 2)), ShapeError, "^unflatten:", _s(3, 2), _s(3, 4)),
    _case("split", lambda: Z(3, 4).split([1, 1], 0), ShapeError, "^split:", _s(1, 1), _s(3, 4), "dim 0"),
    _case("narrow", lambda: Z(3, 4).narrow(1, 2, 3), ShapeError, "^narrow:", _s(3, 4), "dim 1"),
    _case("permute", lambda: Z(3, 4).permute(0), ShapeError, "^permute:", _s(0), _s(3, 4)),
    _case("repeat", lambda: Z(3, 4).repeat(2), ShapeError, "^repeat:", _s(2), _s(3, 4)),
    _case("movedim", lambda: Z(3, 4).movedim((0, 1), (0,)), ShapeError, "^movedim:", _s(0, 1), _s(0)),
    _case("tril_1d", lambda: Z(3).tril(), ShapeError, "^tril:", _s(3), "2 dimensions"),
    # indexing
    _case(
        "gather",
        lambda: em.gather(Z(3, 4), 1, L(4, 2)),
        ShapeError,
        r"^gather: index \(4, 2\) is larger than input \(3, 4\) in dimension 0 \(4 > 3\)$",
    ),
    _case("gather_rank", lambda: em.gather(Z(3, 4), 1, L(3)), ShapeError, "^gather:", _s(3), _s(3, 4)),
    _case(
        "scatter",
        lambda: Z(3, 4).scatter(1, L(4, 2), Z(4, 2)),
        ShapeError,
        "^scatter:",
        _s(4, 2),
        _s(3, 4),
        "dimension 0",
    ),
    _case(
        "scatter_add_src",
        lambda: Z(3, 4).scatter_add(1, L(3, 5), Z(3, 2)),
        ShapeError,
        "^scatter_add:",
        _s(3, 5),
        _s(3, 2),
        "dimension 1",
    ),
    _case("index_select", lambda: em.index_select(Z(3, 4), 0, L(2, 2)), ShapeError, "^index_select:", _s(2, 2)),
    _case(
        "masked_fill",
        lambda: Z(3, 4).masked_fill(B(3, 5), 1.0),
        ShapeError,
        "^masked_fill:",
        _s(3, 5),
        _s(3, 4),
        "dimension (-1|1)",
    ),
    _case(
        "masked_select",
        lambda: em.masked_select(Z(3, 4), B(3, 5)),
        ShapeError,
        "^masked_select:",
        _s(3, 5),
        _s(3, 4),
        "dimension (-1|1)",
    ),
    _case(
        "take_along_dim",
        lambda: em.take_along_dim(Z(3, 4), L(2, 4), 1),
        ShapeError,
        "^take_along_dim:",
        _s(3, 4),
        _s(2, 4),
        "dimension 0",
    ),
    _case(
        "take_along_dim_0d_with_dim",
        lambda: em.take_along_dim(Z(), L(), 0),
        IndexError,
        "^take_along_dim:",
        "dim",
    ),
    _case(
        "setitem",
        lambda: Z(3, 4).__setitem__(slice(None), Z(3, 5)),
        ShapeError,
        "^__setitem__:",
        _s(3, 5),
        _s(3, 4),
        "dimension (-1|1)",
    ),
]


@pytest.mark.parametrize("fn,exc,parts", CORE_CASES)
def test_core_op_shape_error_names_op_shapes_and_axis(fn, exc, parts):
    _check(fn, exc, parts)


# --------------------------------------------------------------------------- issue 3: nn.functional
FUNCTIONAL_CASES = [
    # convolution: the issue's own example, then the other ranks and options
    _case(
        "conv2d_channels",
        lambda: F.conv2d(Z(8, 4, 28, 28), Z(16, 3, 3, 3)),
        ShapeError,
        r"^conv2d: weight \(16, 3, 3, 3\) with groups=1 expects input with 3 channels, got \(8, 4, 28, 28\)$",
    ),
    _case(
        "conv2d_groups",
        lambda: F.conv2d(Z(8, 4, 28, 28), Z(16, 3, 3, 3), groups=2),
        ShapeError,
        "^conv2d:",
        _s(16, 3, 3, 3),
        "groups=2",
        "6 channels",
        _s(8, 4, 28, 28),
    ),
    _case(
        "conv1d_channels",
        lambda: F.conv1d(Z(8, 4, 28), Z(16, 3, 3)),
        ShapeError,
        "^conv1d:",
        _s(16, 3, 3),
        "3 channels",
        _s(8, 4, 28),
    ),
    _case(
        "conv3d_channels",
        lambda: F.conv3d(Z(2, 4, 5, 5, 5), Z(6, 3, 3, 3, 3)),
        ShapeError,
        "^conv3d:",
        _s(6, 3, 3, 3, 3),
        "3 channels",
        _s(2, 4, 5, 5, 5),
    ),
    _case(
        "conv_transpose2d_channels",
        lambda: F.conv_transpose2d(Z(2, 4, 5, 5), Z(3, 6, 3, 3)),
        ShapeError,
        "^conv_transpose2d:",
        _s(3, 6, 3, 3),
        "3 channels",
        _s(2, 4, 5, 5),
    ),
    _case(
        "conv2d_bias", lambda: F.conv2d(Z(8, 3, 9, 9), Z(16, 3, 3, 3), Z(15)), ShapeError, "^conv2d:", _s(16), _s(15)
    ),
    _case(
        "conv2d_weight_rank", lambda: F.conv2d(Z(8, 3, 9, 9), Z(16, 3, 3)), ShapeError, "^conv2d:", "4-d", _s(16, 3, 3)
    ),
    _case(
        "conv2d_input_rank",
        lambda: F.conv2d(Z(3, 28, 28, 1, 1), Z(16, 3, 3, 3)),
        ShapeError,
        "^conv2d:",
        _s(3, 28, 28, 1, 1),
    ),
    _case(
        "conv2d_too_small",
        lambda: F.conv2d(Z(8, 3, 2, 2), Z(16, 3, 3, 3)),
        ShapeError,
        "^conv2d:",
        _s(8, 3, 2, 2),
        r"kernel \(3, 3\)",
    ),
    # losses with class targets: expected shape and dtype, and the indices/probabilities hint
    _case(
        "cross_entropy_target_shape",
        lambda: F.cross_entropy(Z(4, 5), L(3)),
        ShapeError,
        "^cross_entropy:",
        _s(3),
        _s(4, 5),
        r"class indices as an int64 tensor of shape \(4,\)",
        r"class probabilities of shape \(4, 5\)",
    ),
    _case(
        "cross_entropy_float_indices",
        lambda: F.cross_entropy(Z(4, 5), Z(4)),
        DTypeError,
        "^cross_entropy:",
        "float32",
        _s(4),
        _s(4, 5),
        re.escape("target.long()"),
    ),
    _case(
        "cross_entropy_int_probabilities",
        lambda: F.cross_entropy(Z(4, 5), L(4, 5)),
        DTypeError,
        "^cross_entropy:",
        "int64",
        _s(4, 5),
        re.escape("target.float()"),
        re.escape("target.argmax(1)"),
    ),
    _case(
        "cross_entropy_k_dim_target",
        lambda: F.cross_entropy(Z(2, 5, 3), L(2, 4)),
        ShapeError,
        "^cross_entropy:",
        _s(2, 4),
        _s(2, 5, 3),
        _s(2, 3),
    ),
    _case(
        "cross_entropy_weight",
        lambda: F.cross_entropy(Z(4, 5), L(4), weight=Z(4)),
        ShapeError,
        "^cross_entropy:",
        _s(5),
        _s(4),
    ),
    _case("nll_loss_target", lambda: F.nll_loss(Z(4, 5), L(3)), ShapeError, "^nll_loss:", _s(3), _s(4, 5), _s(4)),
    _case(
        "multi_margin_target",
        lambda: F.multi_margin_loss(Z(3, 4), L(4)),
        ShapeError,
        "^multi_margin_loss:",
        _s(4),
        _s(3, 4),
        _s(3),
    ),
    # normalisation: the expected per-channel shape, what came, the input
    _case(
        "batch_norm_running_mean",
        lambda: F.batch_norm(Z(4, 3, 5), Z(4), Z(4)),
        ShapeError,
        r"^batch_norm: expected running_mean of shape \(3,\), got \(4,\) \(input shape \(4, 3, 5\)\)$",
    ),
    _case(
        "batch_norm_weight",
        lambda: F.batch_norm(Z(4, 3, 5), Z(3), Z(3), weight=Z(4)),
        ShapeError,
        "^batch_norm:",
        "weight",
        _s(3),
        _s(4),
        _s(4, 3, 5),
    ),
    _case(
        "instance_norm_running_mean",
        lambda: F.instance_norm(Z(4, 3, 5), Z(4), Z(4)),
        ShapeError,
        "^instance_norm:",
        _s(3),
        _s(4),
        _s(4, 3, 5),
    ),
    _case(
        "layer_norm_shape",
        lambda: F.layer_norm(Z(4, 3, 5), (4,)),
        ShapeError,
        "^layer_norm:",
        _s(4),
        _s(4, 3, 5),
    ),
    _case(
        "layer_norm_weight",
        lambda: F.layer_norm(Z(4, 3, 5), (5,), weight=Z(4)),
        ShapeError,
        "^layer_norm:",
        _s(5),
        _s(4),
        _s(4, 3, 5),
    ),
    _case("rms_norm_shape", lambda: F.rms_norm(Z(4, 3, 5), (4,)), ShapeError, "^rms_norm:", _s(4), _s(4, 3, 5)),
    _case(
        "group_norm_groups",
        lambda: F.group_norm(Z(4, 6, 5), 4),
        ShapeError,
        "^group_norm:",
        "6",
        "num_groups=4",
        _s(4, 6, 5),
    ),
    _case(
        "group_norm_weight",
        lambda: F.group_norm(Z(4, 6, 5), 3, weight=Z(5)),
        ShapeError,
        "^group_norm:",
        _s(6),
        _s(5),
        _s(4, 6, 5),
    ),
    # pointwise losses: both shapes
    *[
        _case(
            f"{name}_shapes", lambda n=name: getattr(F, n)(Z(4, 3), Z(4, 5)), ShapeError, f"^{n}:", _s(4, 3), _s(4, 5)
        )
        for name, n in [
            (x, x)
            for x in (
                "mse_loss",
                "l1_loss",
                "smooth_l1_loss",
                "huber_loss",
                "kl_div",
                "binary_cross_entropy",
                "binary_cross_entropy_with_logits",
                "hinge_embedding_loss",
            )
        ]
    ],
    _case(
        "poisson_nll_loss_shapes",
        lambda: F.poisson_nll_loss(Z(4, 3), Z(4, 5)),
        ShapeError,
        "^poisson_nll_loss:",
        _s(4, 3),
        _s(4, 5),
        "dimension -1",
    ),
    _case(
        "gaussian_nll_loss_target",
        lambda: F.gaussian_nll_loss(Z(4, 3), Z(4, 5), Z(4, 3)),
        ShapeError,
        "^gaussian_nll_loss:",
        _s(4, 3),
        _s(4, 5),
        "dimension -1",
    ),
    _case(
        "gaussian_nll_loss_var",
        lambda: F.gaussian_nll_loss(Z(4, 3), Z(4, 3), Z(4, 5)),
        ShapeError,
        "^gaussian_nll_loss:",
        _s(4, 5),
        _s(4, 3),
    ),
    _case(
        "margin_ranking_loss_shapes",
        lambda: F.margin_ranking_loss(Z(3), Z(4), Z(3)),
        ShapeError,
        "^margin_ranking_loss:",
        _s(3),
        _s(4),
        "dimension -1",
    ),
    _case(
        "margin_ranking_loss_target",
        lambda: F.margin_ranking_loss(Z(3), Z(3), Z(4)),
        ShapeError,
        "^margin_ranking_loss:",
        r"target \(4,\)",
        "dimension -1",
    ),
    _case(
        "multilabel_soft_margin_loss_weight",
        lambda: F.multilabel_soft_margin_loss(Z(4, 3), Z(4, 3), weight=Z(4)),
        ShapeError,
        "^multilabel_soft_margin_loss:",
        r"weight \(4,\)",
        _s(4, 3),
        "dimension -1",
    ),
    _case(
        "triplet_margin_loss_negative",
        lambda: F.triplet_margin_loss(Z(3, 4), Z(3, 4), Z(3, 5)),
        ShapeError,
        "^triplet_margin_loss:",
        _s(3, 4),
        _s(3, 5),
        r"negative \(3, 5\)",
        "dimension -1",
    ),
    _case(
        "cosine_embedding_loss_shapes",
        lambda: F.cosine_embedding_loss(Z(3, 4), Z(3, 5), Z(3)),
        ShapeError,
        "^cosine_embedding_loss:",
        _s(3, 4),
        _s(3, 5),
        _s(3),
    ),
    _case(
        "cosine_similarity_shapes",
        lambda: F.cosine_similarity(Z(3, 4), Z(3, 5)),
        ShapeError,
        "^cosine_similarity:",
        _s(3, 4),
        _s(3, 5),
    ),
    _case(
        "pairwise_distance_shapes",
        lambda: F.pairwise_distance(Z(3, 4), Z(3, 5)),
        ShapeError,
        "^pairwise_distance:",
        _s(3, 4),
        _s(3, 5),
    ),
    _case("ctc_loss_lengths", lambda: F.ctc_loss(Z(10, 2, 5), L(2, 3), L(3), L(2)), ShapeError, "^ctc_loss:", "2", "3"),
    # attention
    _case(
        "sdpa_feature_size",
        lambda: F.scaled_dot_product_attention(Z(2, 3, 4), Z(2, 5, 6), Z(2, 5, 4)),
        ShapeError,
        "^scaled_dot_product_attention:",
        _s(2, 3, 4),
        _s(2, 5, 6),
    ),
    _case(
        "sdpa_key_value_length",
        lambda: F.scaled_dot_product_attention(Z(2, 3, 4), Z(2, 5, 4), Z(2, 6, 4)),
        ShapeError,
        "^scaled_dot_product_attention:",
        _s(2, 5, 4),
        _s(2, 6, 4),
    ),
    _case(
        "sdpa_attn_mask",
        lambda: F.scaled_dot_product_attention(Z(2, 3, 4), Z(2, 5, 4), Z(2, 5, 4), attn_mask=Z(3, 4)),
        ShapeError,
        "^scaled_dot_product_attention:",
        _s(3, 4),
        _s(2, 3, 5),
    ),
    # the rest of the family
    _case(
        "bilinear_inputs",
        lambda: F.bilinear(Z(3, 4), Z(3, 5), Z(6, 4, 4)),
        ShapeError,
        "^bilinear:",
        _s(6, 4, 4),
        _s(3, 4),
        _s(3, 5),
    ),
    _case("embedding_weight_rank", lambda: F.embedding(L(3), Z(4)), ShapeError, "^embedding:", _s(4)),
    _case(
        "embedding_index",
        lambda: F.embedding(em.tensor([5]), Z(3, 4)),
        IndexError,
        "^embedding:",
        "index 5",
        _s(3, 4),
    ),
    _case(
        "max_pool2d_too_small",
        lambda: F.max_pool2d(Z(1, 1, 2, 2), 3),
        ShapeError,
        "^max_pool2d:",
        _s(1, 1, 2, 2),
        "kernel_size=" + _s(3, 3),
    ),
    _case("max_pool2d_rank", lambda: F.max_pool2d(Z(2, 3), 2), ShapeError, "^max_pool2d:", _s(2, 3)),
    _case(
        "pixel_shuffle_channels",
        lambda: F.pixel_shuffle(Z(1, 5, 4, 4), 2),
        ShapeError,
        "^pixel_shuffle:",
        _s(1, 5, 4, 4),
        "4",
    ),
    _case("glu_odd", lambda: F.glu(Z(3, 5)), ShapeError, "^glu:", "dimension 1", "5", _s(3, 5)),
    _case("prelu_weight", lambda: F.prelu(Z(2, 3, 4), Z(4)), ShapeError, "^prelu:", _s(4), _s(2, 3, 4), "3 channel"),
    _case("unfold_rank", lambda: F.unfold(Z(3, 4), 2), ShapeError, "^unfold:", _s(3, 4)),
    _case("fold_channels", lambda: F.fold(Z(1, 5, 9), (4, 4), 2), ShapeError, "^fold:", _s(1, 5, 9), _s(2, 2)),
    _case(
        "interpolate_size",
        lambda: F.interpolate(Z(1, 1, 4, 4), size=(2, 2, 2)),
        ShapeError,
        "^interpolate:",
        _s(2, 2, 2),
        _s(1, 1, 4, 4),
    ),
    _case("pad_length", lambda: F.pad(Z(3, 4), (1,) * 8), ShapeError, "^pad:", "8", _s(3, 4)),
]


@pytest.mark.parametrize("fn,exc,parts", FUNCTIONAL_CASES)
def test_functional_op_error_names_op_and_shapes(fn, exc, parts):
    _check(fn, exc, parts)


def test_shape_errors_are_value_errors_raised_before_any_state_change():
    # a failed in-place op leaves the tensor as it was
    x = em.ones(3)
    with pytest.raises(ValueError):
        x.add_(Z(2, 3))
    assert x.tolist() == [1.0, 1.0, 1.0] and x._vc[0] == 0
    # a failed batch_norm leaves the running statistics as they were
    mean, var = em.zeros(4), em.ones(4)
    with pytest.raises(ShapeError):
        F.batch_norm(em.ones(4, 3, 5), mean, var, training=True)
    assert mean.tolist() == [0.0] * 4 and var.tolist() == [1.0] * 4
