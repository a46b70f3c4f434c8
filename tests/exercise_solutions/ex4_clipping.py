from tinygrad_seq import nn


def training_step(model, opt, x, target, max_norm=1.0):
    loss = ((model(x) - target) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return loss.item()
