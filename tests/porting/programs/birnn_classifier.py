# Bidirectional recurrent text classifiers in the style of bentrevett/pytorch-sentiment-analysis
# ("Upgraded Sentiment Analysis", MIT License): the same idioms (nn.Embedding(padding_idx=
# pad_idx), a 2-layer bidirectional nn.LSTM / nn.GRU, the final hidden state of the last
# layer's two directions joined by torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1),
# nn.Linear(hidden_dim * 2, output_dim), nn.BCEWithLogitsLoss on predictions.squeeze(1),
# binary_accuracy with torch.round(torch.sigmoid(preds)) and correct.sum() / len(correct),
# model.embedding.weight.data[pad_idx] = torch.zeros(embedding_dim), count_parameters, the
# LSTM fed nn.utils.rnn.pack_padded_sequence(embedded, text_lengths.to("cpu")) and read back
# with pad_packed_sequence), here with batch_first=True batches built by
# nn.utils.rnn.pad_sequence instead of torchtext iterators (enforce_sorted=False instead of
# torchtext's sort_within_batch) and the GRU run on the padded batch, written for this test
# at a tiny size. The token sequences are drawn with NumPy so that both frameworks see the
# same ones. Only the import lines differ from the PyTorch program.
import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.optim as optim
from glassnet.nn.utils.rnn import pad_sequence

from _data import deterministic_state

torch.manual_seed(1234)
rng = np.random.default_rng(1234)
INPUT_DIM, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM = 20, 8, 12, 1
N_LAYERS, BIDIRECTIONAL, DROPOUT, PAD_IDX = 2, True, 0.0, 0


def make_examples(n):
    examples = []
    for _ in range(n):
        length = int(rng.integers(3, 11))
        tokens = rng.integers(1, INPUT_DIM, length)
        label = float((tokens < INPUT_DIM // 2).sum() > length / 2)
        examples.append((torch.tensor(tokens, dtype=torch.long), label))
    return examples


def batches(examples, batch_size):
    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        text = pad_sequence([t for t, _ in chunk], batch_first=True, padding_value=PAD_IDX)
        lengths = torch.tensor([len(t) for t, _ in chunk])
        yield text, lengths, torch.tensor([label for _, label in chunk])


class RNN(nn.Module):
    def __init__(
        self, rnn_type, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers,
        bidirectional, dropout, pad_idx,
    ):  # fmt: skip
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = getattr(nn, rnn_type)(
            embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional,
            dropout=dropout, batch_first=True,
        )  # fmt: skip
        self.rnn_type = rnn_type
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        if self.rnn_type == "LSTM":
            packed_embedded = nn.utils.rnn.pack_padded_sequence(
                embedded, text_lengths.to("cpu"), batch_first=True, enforce_sorted=False
            )
            packed_output, (hidden, cell) = self.rnn(packed_embedded)
            output, output_lengths = nn.utils.rnn.pad_packed_sequence(
                packed_output, batch_first=True
            )
        else:
            output, hidden = self.rnn(embedded)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        last = output[torch.arange(output.size(0)), text_lengths - 1, : hidden.size(1) // 2]
        return self.fc(hidden), last


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    acc = correct.sum() / len(correct)
    return acc


train_data, valid_data = make_examples(96), make_examples(32)
losses = []
for seed, rnn_type in ((71, "LSTM"), (72, "GRU")):
    model = RNN(
        rnn_type, INPUT_DIM, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM, N_LAYERS, BIDIRECTIONAL,
        DROPOUT, PAD_IDX,
    )  # fmt: skip
    model.load_state_dict(deterministic_state(model, torch, seed=seed))
    model.embedding.weight.data[PAD_IDX] = torch.zeros(EMBEDDING_DIM)
    print(f"The model has {count_parameters(model):,} trainable parameters")
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.BCEWithLogitsLoss()

    def evaluate(model, examples, criterion):
        epoch_loss, epoch_acc = 0, 0
        model.eval()
        with torch.no_grad():
            for text, text_lengths, label in batches(examples, 16):
                predictions, _ = model(text, text_lengths)
                predictions = predictions.squeeze(1)
                epoch_loss += criterion(predictions, label).item()
                epoch_acc += binary_accuracy(predictions, label).item()
        return epoch_loss / 2, epoch_acc / 2

    for epoch in range(2):
        model.train()
        for text, text_lengths, label in batches(train_data, 16):
            optimizer.zero_grad()
            predictions, last = model(text, text_lengths)
            predictions = predictions.squeeze(1)
            loss = criterion(predictions, label)
            acc = binary_accuracy(predictions, label)
            loss.backward()
            optimizer.step()
            losses += [loss.item(), last.abs().mean().item()]
        losses += list(evaluate(model, valid_data, criterion))
print("losses", [round(v, 4) for v in losses])
