"""See it: computation graphs of the unrolled network, and gradient flow through time.

``draw_graph`` turns the graph behind a tensor into a ``graphviz.Digraph``: one cluster per
time step (and per layer and direction), gates named and coloured as taught, parameters labelled
with their module names, optionally values, gradients and the order of the reverse sweep.
``gradient_flow`` measures ||dL/dh_t|| for every step t of a recurrent model and
``plot_gradient_flow`` draws it (vanishing in a tanh RNN, surviving in an LSTM).
``explore`` writes one HTML page to step through the forward pass and the backward sweep.

Graphviz and matplotlib are imported only when used.

>>> import numpy as np, tinygrad_seq as tg
>>> from tinygrad_seq import viz
>>> x = tg.Tensor(np.ones(2), requires_grad=True)
>>> g = viz.draw_graph((x * x).sum())
>>> g.source.startswith("digraph")
True
"""

from ..modes import scope
from .draw import GraphvizNotFoundError, draw_graph, render
from .explore import Explorer, explore
from .flow import compare_gradient_flow, gradient_flow, plot_gradient_flow

__all__ = [
    "Explorer",
    "GraphvizNotFoundError",
    "compare_gradient_flow",
    "draw_graph",
    "explore",
    "gradient_flow",
    "plot_gradient_flow",
    "render",
    "scope",
]
