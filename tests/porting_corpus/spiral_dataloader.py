"""Classify points of two interleaved spirals with an MLP, fed by a Dataset and a DataLoader."""

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset, TensorDataset

parser = argparse.ArgumentParser(description="spiral classification")
parser.add_argument("--epochs", type=int, default=12)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--lr", type=float, default=0.03)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

torch.manual_seed(args.seed)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class SpiralDataset(Dataset):
    """Two spirals, one per class, with noisy points and a tenth of the labels flipped."""

    def __init__(self, n_per_class):
        t = torch.linspace(0.5, 2 * math.pi, n_per_class)
        points, labels = [], []
        for label in range(2):
            angle = t + label * math.pi
            xy = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) / 5
            points.append(xy + 0.02 * torch.randn(n_per_class, 2))
            flipped = torch.arange(n_per_class) % 10 == 3  # label noise: a floor under the loss
            labels.append(torch.where(flipped, 1 - label, label).long())
        self.points = torch.cat(points)
        self.labels = torch.cat(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.points[idx], self.labels[idx]


class Net(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 2)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


train_set = SpiralDataset(128)
held_out = SpiralDataset(32)
perm = torch.randperm(len(held_out))  # a shuffled held-out set, kept as plain tensors
test_set = TensorDataset(held_out.points[perm], held_out.labels[perm])
train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
test_loader = DataLoader(test_set, batch_size=64)

model = Net().to(device)
optimizer = optim.Adam(model.parameters(), lr=args.lr)
criterion = nn.CrossEntropyLoss()

for epoch in range(1, args.epochs + 1):
    model.train()
    total, count = 0.0, 0
    for data, target in train_loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad(set_to_none=True)
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        total += loss.item() * data.size(0)
        count += data.size(0)
    print(f"epoch {epoch} loss {total / count:.4f}")

model.eval()
correct = 0
with torch.inference_mode():
    for data, target in test_loader:
        pred = model(data.to(device)).argmax(dim=1)
        correct += (pred == target.to(device)).sum().item()
print(f"test accuracy {correct / len(test_set):.3f}")
