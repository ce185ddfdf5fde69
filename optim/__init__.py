"""optim: optimizers and learning-rate schedulers for autodiff tensors.

Works on any leaf tensors (it does not need ``nn``)::

    opt = optim.Adam(params, lr=1e-3)
    for batch in data:
        opt.zero_grad()
        loss_fn(batch).backward()
        opt.step()
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer, ParameterError
from .rmsprop import RMSprop
from .sgd import SGD
from . import replay  # noqa: F401,E402  (how ad.compile replays step() and zero_grad())

__all__ = ["Optimizer", "ParameterError", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
