# An LSTM language model in the style of PyTorch's word_language_model example
# (https://github.com/pytorch/examples/tree/main/word_language_model, BSD-3-Clause): the same
# idioms (getattr(nn, rnn_type)(ninp, nhid, nlayers) fed sequence-first (T, N) batches,
# init_hidden from weight.new_zeros, batchify with narrow / view(bsz, -1).t().contiguous(),
# repackage_hidden with detach, nn.NLLLoss on log_softmax, clip_grad_norm_, the manual
# update p.data.add_(p.grad, alpha=-lr), math.exp(loss) perplexity), written for this test
# on characters of the bundled Shakespeare text. Only the import lines differ from the
# PyTorch program.
import math

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F

from _data import deterministic_state, shakespeare


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.0):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (
                weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid),
            )
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


text = shakespeare(6000)
vocab = sorted(set(text))
ids = torch.tensor([vocab.index(c) for c in text], dtype=torch.long)
split = int(len(ids) * 0.9)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


bptt = 20
train_data = batchify(ids[:split], 16)
val_data = batchify(ids[split:], 4)


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i : i + seq_len]
    target = source[i + 1 : i + 1 + seq_len].view(-1)
    return data, target


torch.manual_seed(1111)
model = RNNModel("LSTM", len(vocab), 16, 24, 2)
model.load_state_dict(deterministic_state(model, torch, seed=4))
criterion = nn.NLLLoss()
lr, clip = 2.0, 0.25


def evaluate(data_source):
    model.eval()
    total_loss = 0.0
    hidden = model.init_hidden(4)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


losses = []
for epoch in range(1, 3):
    model.train()
    total_loss = 0.0
    hidden = model.init_hidden(16)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        losses.append(loss.item())
    val_loss = evaluate(val_data)
    losses.append(val_loss)
    print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | ppl {math.exp(val_loss):8.2f}")
