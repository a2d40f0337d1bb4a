import numpy as np
import pytest
import torch

import ember as em

# torch is only the oracle here: one thread keeps its pool from spinning against
# ours (and against the other test worker) on a 2-core machine
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    em.manual_seed(0)
    np.random.seed(0)
    yield
