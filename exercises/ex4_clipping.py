"""Exercise 4 (The RNN and BPTT): make an exploding RNN train.

The checker builds a tanh RNN whose recurrent weight is 3 times an orthogonal matrix (its
gradients explode, docs/rnn.md shows the numbers), plain SGD with lr = 0.1, and calls
``training_step`` 40 times. As written, the first gradient (norm about 250) throws the weights
far away and the loss runs away. Add ONE line to ``training_step`` so that it trains:
no update may be longer than lr * max_norm, and the loss must go down.

Check: python -m tinygrad_seq.exercises check 4
"""

from tinygrad_seq import nn  # noqa: F401


def training_step(model, opt, x, target, max_norm=1.0):
    """One SGD step on the mean squared error of model(x) against target; returns the loss."""
    loss = ((model(x) - target) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()
