"""Generate text character by character with a GRU (as the char-rnn tutorials do): random chunks
of a text gathered into a torch.LongTensor, a ModuleList head, Adam, and sampling with
torch.multinomial under torch.inference_mode."""

import argparse
import random
import string

import torch
import torch.nn as nn

argparser = argparse.ArgumentParser()
argparser.add_argument("--n_epochs", type=int, default=120)
argparser.add_argument("--print_every", type=int, default=12)
argparser.add_argument("--hidden_size", type=int, default=32)
argparser.add_argument("--n_layers", type=int, default=1)
argparser.add_argument("--learning_rate", type=float, default=0.01)
argparser.add_argument("--chunk_len", type=int, default=12)
argparser.add_argument("--batch_size", type=int, default=16)
args = argparser.parse_args()

all_characters = string.printable
n_characters = len(all_characters)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# a text from a small grammar: the next letter is partly predictable, partly not
rng = random.Random(3)
subjects, verbs = ["the cat", "a dog", "my friend", "the bird"], ["runs", "sings", "sleeps", "eats"]
file = " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)}." for _ in range(200))
file_len = len(file)


def char_tensor(s):
    """Turn a string into a tensor of character indices."""
    tensor = torch.zeros(len(s)).long()
    for c in range(len(s)):
        tensor[c] = all_characters.index(s[c])
    return tensor


def random_training_set(chunk_len, batch_size):
    inp = torch.LongTensor(batch_size, chunk_len)
    target = torch.LongTensor(batch_size, chunk_len)
    for bi in range(batch_size):
        start_index = random.randint(0, file_len - chunk_len - 1)
        chunk = file[start_index : start_index + chunk_len + 1]
        inp[bi] = char_tensor(chunk[:-1])
        target[bi] = char_tensor(chunk[1:])
    return inp.to(device), target.to(device)


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, n_layers=1, n_head_layers=2):
        super(CharRNN, self).__init__()
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.encoder = nn.Embedding(input_size, hidden_size)
        self.rnn = nn.GRU(hidden_size, hidden_size, n_layers)
        self.head = nn.ModuleList(
            [nn.Linear(hidden_size, hidden_size) for _ in range(n_head_layers)]
        )
        self.decoder = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden):
        batch_size = input.size(0)
        encoded = self.encoder(input)
        output, hidden = self.rnn(encoded.view(1, batch_size, -1), hidden)
        output = output.view(batch_size, -1)
        for layer in self.head:
            output = output + torch.relu(layer(output))
        return self.decoder(output), hidden

    def init_hidden(self, batch_size):
        return torch.zeros(self.n_layers, batch_size, self.hidden_size)


def generate(decoder, prime_str="the", predict_len=40, temperature=0.8):
    hidden = decoder.init_hidden(1).to(device)
    prime_input = char_tensor(prime_str).unsqueeze(0).to(device)
    predicted = prime_str
    # use the priming string to "build up" the hidden state
    for p in range(len(prime_str) - 1):
        _, hidden = decoder(prime_input[:, p], hidden)
    inp = prime_input[:, -1]
    for p in range(predict_len):
        output, hidden = decoder(inp, hidden)
        # sample from the network as a multinomial distribution
        output_dist = output.data.view(-1).div(temperature).exp()
        top_i = torch.multinomial(output_dist, 1)[0]
        predicted_char = all_characters[top_i]
        predicted += predicted_char
        inp = char_tensor(predicted_char).unsqueeze(0).to(device)
    return predicted


def train(inp, target):
    hidden = decoder.init_hidden(args.batch_size).to(device)
    decoder_optimizer.zero_grad(set_to_none=True)
    loss = 0
    for c in range(args.chunk_len):
        output, hidden = decoder(inp[:, c], hidden)
        loss += criterion(output.view(args.batch_size, -1), target[:, c])
    loss.backward()
    decoder_optimizer.step()
    return loss.item() / args.chunk_len


random.seed(0)
torch.manual_seed(0)
decoder = CharRNN(n_characters, args.hidden_size, n_characters, args.n_layers).to(device)
decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=args.learning_rate)
criterion = nn.CrossEntropyLoss()

loss_avg = 0
decoder.train()
for epoch in range(1, args.n_epochs + 1):
    loss = train(*random_training_set(args.chunk_len, args.batch_size))
    loss_avg += loss
    if epoch % args.print_every == 0:
        print(f"epoch {epoch} loss {loss_avg / args.print_every:.4f}")
        loss_avg = 0

decoder.eval()
with torch.inference_mode():
    print(repr(generate(decoder, "the ", 40)))
