"""Exercise 5 (Inside the LSTM): an LSTM that remembers for 100 steps.

With PyTorch's initial weights, the gradient of an LSTM's last hidden state reaches the first step
of 100 only as ~1e-9 of itself. Set the biases of ``cell`` (an nn.LSTMCell) so that the forget gate
starts close to 1 and ||dL/dh_0|| over 100 steps stays above 1e-3 — without touching the weights or
the other gates' biases.

Hint: the rows of weight_ih, weight_hh, bias_ih and bias_hh are stacked in PyTorch's gate order
i, f, g, o (hidden_size rows each); sigmoid(3) is about 0.95. Write into p.data[...] in place.

Check: python -m tinygrad_seq.exercises check 5
"""


def open_forget_gate(cell):
    """Set ``cell``'s forget-gate biases (in place) so that it keeps its memory."""
    raise NotImplementedError("exercise 5: write into the forget gate's rows of the biases")
