"""PyTorch's class paths, for scripts and checkpoints that name them: ``nn.modules.rnn.LSTM``,
``nn.modules.linear.Linear``, ``nn.modules.module.Module``, ... Each module here re-exports the
classes of ``tinygrad_seq.nn`` (the same objects, not copies), so ``isinstance`` checks agree.

>>> from tinygrad_seq import nn
>>> nn.modules.rnn.LSTM is nn.LSTM, nn.modules.container.Sequential is nn.Sequential
(True, True)
"""

from .activation import *  # noqa: F403  each also loads the submodule (nn.modules.rnn)
from .container import *  # noqa: F403
from .dropout import *  # noqa: F403
from .flatten import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import *  # noqa: F403
from .normalization import *  # noqa: F403
from .rnn import *  # noqa: F403
from .sparse import *  # noqa: F403
from .transformer import *  # noqa: F403
