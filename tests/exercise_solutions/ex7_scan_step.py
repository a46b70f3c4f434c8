def leaky_step(x_t, state, w):
    pre = x_t + state[0] @ w
    return (pre.relu() - 0.1 * (-pre).relu(),)
