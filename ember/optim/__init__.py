"""``ember.optim``: optimizers and learning-rate schedulers with PyTorch's names, options and state dicts.

Example:
    >>> opt = ember.optim.AdamW(model.parameters(), lr=1e-3)
    >>> sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=1000)
    >>> for x, y in loader:
    ...     opt.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     opt.step()
    ...     sched.step()
"""

from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer, required
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "required",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "LBFGS",
    "lr_scheduler",
]
