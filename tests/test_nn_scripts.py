"""Whole training scripts written the way PyTorch's tutorials write them (a Dataset subclass,
random_split, DataLoader with shuffle, containers, activations, model.apply, train/eval,
no_grad, a state_dict round trip), run once with torch and once with tinygrad_seq, the source
changed only by the name of the import."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SCRIPT = """
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, random_split


class Blobs(Dataset):
    def __init__(self, n=320):
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((n, 2, 4)).astype(np.float32)
        self.y = (self.x[:, 0, :2].sum(axis=1) > self.x[:, 1, 2:].sum(axis=1)).astype(np.int64)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), int(self.y[i])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict([("flat", nn.Flatten()), ("fc", nn.Linear(8, 32)), ("act", nn.GELU())])
        )
        self.blocks = nn.ModuleList(
            [nn.Sequential(nn.Linear(32, 32), nn.LeakyReLU(0.1), nn.Dropout(0.1)) for _ in range(2)]
        )
        self.heads = nn.ModuleDict({"cls": nn.Linear(32, 2)})
        self.log_softmax = nn.LogSoftmax(dim=1)
        self.register_buffer("calls", torch.zeros(1))

    def forward(self, x):
        x = self.features(x)
        for block in self.blocks:
            x = x + F.silu(block(x))
        return self.log_softmax(self.heads["cls"](x))


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.bias)


torch.manual_seed(0)
data = Blobs()
train_set, test_set = random_split(data, [0.75, 0.25])
train_loader = DataLoader(train_set, batch_size=16, shuffle=True, num_workers=0, pin_memory=True)
test_loader = DataLoader(test_set, batch_size=32)
model = Net()
model.apply(init_weights)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.NLLLoss()
for epoch in range(6):
    model.train()
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()

model.eval()
correct = 0
with torch.no_grad():
    for inputs, labels in test_loader:
        predicted = model(inputs).argmax(dim=1)
        correct += (predicted == labels).sum().item()
accuracy = correct / len(test_set)

state = model.state_dict()
copy = Net()
copy.load_state_dict(state)
copy.eval()
inputs, _ = next(iter(test_loader))
with torch.no_grad():
    same = bool((copy(inputs) == model(inputs)).all())
names = list(state)
batches = len(train_loader)
"""


def _run(library):
    source = SCRIPT if library == "torch" else SCRIPT.replace("torch", "tinygrad_seq")
    namespace = {"__name__": "script"}
    exec(compile(source, f"<script on {library}>", "exec"), namespace)
    return namespace


@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")  # both warn alike
def test_a_tutorial_style_training_script_runs_unchanged():
    theirs, ours = _run("torch"), _run("tinygrad_seq")
    assert ours["names"] == theirs["names"]  # the state_dict keys, in torch's order
    assert ours["batches"] == theirs["batches"] == 15
    assert ours["same"] and theirs["same"]
    assert theirs["accuracy"] > 0.85 and ours["accuracy"] > 0.85, (ours["accuracy"], theirs)
    assert len(ours["test_set"]) == len(theirs["test_set"]) == 80
    assert np.isfinite(ours["loss"].item())
