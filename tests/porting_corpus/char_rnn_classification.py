"""Classify made-up names by their "language" with a hand-built character RNN: one-hot letters
set by item assignment, nn.Linear + nn.LogSoftmax, and SGD written out through p.data."""

import random
import string
import time
import unicodedata

import torch
import torch.nn as nn

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

n_hidden = 32
n_iters = 800
print_every = 100
learning_rate = 0.02


def unicodeToAscii(s):
    return "".join(
        c
        for c in unicodedata.normalize("NFD", s)
        if unicodedata.category(c) != "Mn" and c in all_letters
    )


# made-up names: each "language" strings together syllables of its own
syllables = {
    "Japanese": ["ka", "ta", "mi", "ko", "su", "ra", "hi", "no", "yo"],
    "Russian": ["ov", "ev", "sky", "in", "vich", "ko", "lov", "mir"],
    "Irish": ["O'", "Mc", "Con", "nor", "ell", "gan", "Dú", "ley"],
    "German": ["sch", "mann", "berg", "stein", "Kö", "rich", "hau"],
}
rng = random.Random(0)
category_lines = {}
all_categories = []
for category, parts in syllables.items():
    names = ["".join(rng.choice(parts) for _ in range(rng.randint(2, 3))) for _ in range(40)]
    category_lines[category] = [unicodeToAscii(name.capitalize()) for name in names]
    all_categories.append(category)
n_categories = len(all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    """A <line_length x 1 x n_letters> tensor of one-hot letter vectors."""
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.i2o(combined)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


def randomChoice(items):
    return items[random.randint(0, len(items) - 1)]


def randomTrainingExample():
    category = randomChoice(all_categories)
    line = randomChoice(category_lines[category])
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    line_tensor = lineToTensor(line)
    return category, line, category_tensor, line_tensor


criterion = nn.NLLLoss()


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    # add the parameters' gradients to their values, multiplied by the learning rate
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


random.seed(1)
torch.manual_seed(1)
rnn = RNN(n_letters, n_hidden, n_categories)
print(lineToTensor("Jones").size())

current_loss = 0
start = time.time()
for iter in range(1, n_iters + 1):
    category, line, category_tensor, line_tensor = randomTrainingExample()
    output, loss = train(category_tensor, line_tensor)
    current_loss += loss
    if iter % print_every == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = "✓" if guess == category else "✗ (%s)" % category
        avg = current_loss / print_every
        print(f"epoch {iter // print_every} loss {avg:.4f} {line} / {guess} {correct}")
        current_loss = 0


def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output


with torch.no_grad():
    right = sum(
        categoryFromOutput(evaluate(lineToTensor(line)))[0] == category
        for category in all_categories
        for line in category_lines[category]
    )
print(f"accuracy {right / sum(len(v) for v in category_lines.values()):.3f}")
