"""Gradient descent written by hand: raw weight tensors updated through .data (as the early
"Learning PyTorch with examples" did it), then a polynomial fit by nn.Sequential whose
parameters are updated in a loop over model.parameters()."""

import math

import torch

dtype = torch.float
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)

# N is the batch size; D_in the input dimension; H the hidden dimension; D_out the output one
N, D_in, H, D_out = 256, 10, 32, 2

x = torch.randn(N, D_in, device=device, dtype=dtype)
true_w = torch.randn(D_in, D_out, device=device, dtype=dtype)
y = x.mm(true_w) / 3 + 0.3 * torch.randn(N, D_out, device=device, dtype=dtype)

w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)
w1.data.mul_(1 / math.sqrt(D_in))  # scale the initial weights in place, outside the graph
w2.data = w2.data / math.sqrt(H)

learning_rate = 5e-4
for t in range(800):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 80 == 79:
        print(f"epoch {t} loss {loss.item():.4f}")
    loss.backward()
    # update the weights by hand; .data holds the values, outside the autograd graph
    w1.data -= learning_rate * w1.grad.data
    w2.data -= learning_rate * w2.grad.data
    # zero the gradients after updating them
    w1.grad.data.zero_()
    w2.grad.data.zero_()

# a third-order polynomial fit to sin(x), as an nn module
xs = torch.linspace(-math.pi, math.pi, 200)
ys = torch.sin(xs)
p = torch.tensor([1, 2, 3])
xx = xs.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).to(device)
loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 2.5e-5
for t in range(1500):
    y_pred = model(xx)
    loss = loss_fn(y_pred, ys)
    if t % 150 == 149:
        print(f"poly {t} loss {loss.item():.4f}")
    model.zero_grad()
    loss.backward()
    for param in model.parameters():
        param.data.sub_(learning_rate * param.grad)

linear_layer = model[0]
b, c, d = (linear_layer.weight[:, i].item() for i in range(3))
print(f"y = {linear_layer.bias.item():.3f} + {b:.3f} x + {c:.3f} x^2 + {d:.3f} x^3")
