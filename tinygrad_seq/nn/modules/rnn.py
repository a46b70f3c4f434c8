"""``torch.nn.modules.rnn``'s path to the recurrent layers and cells (the classes of ``nn``)."""

from ..cells import GRUCell, LSTMCell, RNNCell
from ..rnn import GRU, LSTM, RNN

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]
