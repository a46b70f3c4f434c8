"""Train a GRU regressor with randperm mini-batches, save the whole model with torch.save, load
it back under torch.serialization.safe_globals, and evaluate the reloaded copy."""

import argparse
import os

import torch
import torch.nn as nn

parser = argparse.ArgumentParser(description="GRU sequence regression, saved whole")
parser.add_argument("--epochs", type=int, default=16)
parser.add_argument("--batch_size", type=int, default=32)
parser.add_argument("--lr", type=float, default=0.02)
parser.add_argument("--save", type=str, default="model.pt", help="path to save the final model")
args = parser.parse_args()

torch.manual_seed(1111)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class SequenceRegressor(nn.Module):
    """A GRU reads the sequence; a linear head maps its last hidden state to one number."""

    def __init__(self, hidden_size=16, dropout=0.1):
        super(SequenceRegressor, self).__init__()
        self.rnn = nn.GRU(1, hidden_size, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, hidden = self.rnn(x)
        return self.head(self.drop(hidden[-1])).squeeze(1)


# the target: a weighted sum of the sequence, plus noise (the loss has a floor)
n, seq_len = 320, 8
x = torch.randn(n, seq_len, 1)
weights = torch.linspace(0.2, 1.0, seq_len)
y = (x.squeeze(2) * weights).sum(dim=1) / 2 + 0.1 * torch.randn(n)
x_train, y_train, x_val, y_val = x[:256], y[:256], x[256:], y[256:]

model = SequenceRegressor().to(device)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)


def evaluate(model):
    model.eval()
    with torch.no_grad():
        return criterion(model(x_val.to(device)), y_val.to(device)).item()


for epoch in range(1, args.epochs + 1):
    model.train()
    perm = torch.randperm(x_train.size(0))
    total_loss = 0.0
    for i in range(0, x_train.size(0), args.batch_size):
        idx = perm[i : i + args.batch_size]
        data, targets = x_train[idx].to(device), y_train[idx].to(device)
        optimizer.zero_grad()
        loss = criterion(model(data), targets)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(idx)
    print(f"epoch {epoch} loss {total_loss / x_train.size(0):.4f} val {evaluate(model):.4f}")

before = evaluate(model)
with open(args.save, "wb") as f:
    torch.save(model, f)

# load the best saved model
with open(args.save, "rb") as f:
    with torch.serialization.safe_globals([SequenceRegressor, nn.GRU, nn.Dropout, nn.Linear]):
        model = torch.load(f)
    # after load the rnn params are not a continuous chunk of memory; this makes them so
    model.rnn.flatten_parameters()

after = evaluate(model)
print(f"val loss before saving {before:.6f} after loading {after:.6f}")
print(f"saved {os.path.getsize(args.save) > 0}")
