import pytest

from tests.helpers import check_gradcheck, check_op


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize(
    "shapes", [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (2, 3)], [(0, 3), (3,)]]
)
def test_mul_add_sub_div(shapes, layout):
    check_op(shapes, lambda a, b: a * b + a - b / (b.abs() + 1), layout=layout)


def test_matmul_gradcheck():
    check_gradcheck([(3, 4), (4, 2)], lambda a, b: a @ b)
