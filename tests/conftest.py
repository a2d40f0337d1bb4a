import numpy as np
import pytest

import ember as em


@pytest.fixture(autouse=True)
def _seed():
    em.manual_seed(0)
    np.random.seed(0)
    yield
