# A text classifier in the style of PyTorch's tutorial "Text classification with the
# torchtext library" (https://pytorch.org/tutorials/beginner/text_sentiment_ngrams_tutorial.html,
# BSD-3-Clause): the same idioms (TextClassificationModel with nn.EmbeddingBag(vocab_size,
# embed_dim, sparse=False) fed (text, offsets), init_weights with weight.data.uniform_ and
# bias.data.zero_, collate_batch building torch.tensor(offsets[:-1]).cumsum(dim=0) and
# torch.cat(text_list), a DataLoader over a list of (label, text) pairs with collate_fn,
# CrossEntropyLoss, SGD(lr=5) with clip_grad_norm_(..., 0.1), StepLR(optimizer, 1.0,
# gamma=0.1) stepped when validation accuracy drops, (predicted_label.argmax(1) == label)
# .sum().item()), written for this test at a tiny size: the AG_NEWS texts are replaced by token
# lists drawn with NumPy (the label decides which part of the vocabulary is likelier) so that
# both frameworks see the same ones. Only the import lines differ from the PyTorch program.
import time

import numpy as np

import glassnet as torch
from glassnet import nn
from glassnet.utils.data import DataLoader

from _data import deterministic_state

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
rng = np.random.default_rng(2024)
VOCAB, NUM_CLASS = 40, 4


def make_split(n):
    items = []
    for _ in range(n):
        label = int(rng.integers(1, NUM_CLASS + 1))
        length = int(rng.integers(3, 12))
        favoured = rng.integers(10 * (label - 1), 10 * label, length)
        noise = rng.integers(0, VOCAB, length)
        tokens = np.where(rng.random(length) < 0.6, favoured, noise).tolist()
        items.append((label, tokens))
    return items


train_iter, test_iter = make_split(160), make_split(48)
text_pipeline = lambda x: x
label_pipeline = lambda x: int(x) - 1


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list.to(device), text_list.to(device), offsets.to(device)


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


emsize = 16
model = TextClassificationModel(VOCAB, emsize, NUM_CLASS).to(device)
model.load_state_dict(deterministic_state(model, torch, seed=81))

losses = []


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    log_interval = 5
    start_time = time.time()

    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
        losses.append(loss.item())
        if idx % log_interval == 0 and idx > 0:
            elapsed = time.time() - start_time  # noqa: F841
            print(
                "| epoch {:3d} | {:5d}/{:5d} batches | accuracy {:8.3f}".format(
                    epoch, idx, len(dataloader), total_acc / total_count
                )
            )
            total_acc, total_count = 0, 0
            start_time = time.time()


def evaluate(dataloader):
    model.eval()
    total_acc, total_count = 0, 0

    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)  # noqa: F841
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count


EPOCHS = 3
LR = 5
BATCH_SIZE = 16

criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
total_accu = None
split_train_, split_valid_ = train_iter[:128], train_iter[128:]

train_dataloader = DataLoader(
    split_train_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch
)
valid_dataloader = DataLoader(
    split_valid_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch
)
test_dataloader = DataLoader(
    test_iter, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch
)

for epoch in range(1, EPOCHS + 1):
    epoch_start_time = time.time()
    train(train_dataloader)
    accu_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    losses.append(accu_val)
    print("| end of epoch {:3d} | valid accuracy {:8.3f} ".format(epoch, accu_val))

accu_test = evaluate(test_dataloader)
losses.append(accu_test)
print("test accuracy {:8.3f}".format(accu_test))


def predict(text, text_pipeline):
    with torch.no_grad():
        text = torch.tensor(text_pipeline(text))
        output = model(text, torch.tensor([0]))
        return output.argmax(1).item() + 1


model = model.to("cpu")
losses.append(float(sum(predict(t, text_pipeline) == y for y, t in test_iter[:16])))
