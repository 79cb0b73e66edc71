# A sequence-to-sequence nn.Transformer in the style of PyTorch's "Language Translation with
# nn.Transformer and torchtext" tutorial
# (https://pytorch.org/tutorials/beginner/translation_transformer.html, BSD-3-Clause): the
# same idioms (sequence-first (S, N) batches, a PositionalEncoding buffer filled by slice
# assignment, TokenEmbedding scaled by sqrt(emb_size), nn.Transformer with src/tgt masks and
# key-padding masks, the triu(...).transpose(0, 1) causal mask turned into a float mask with
# masked_fill, (src == PAD_IDX).transpose(0, 1) padding masks, CrossEntropyLoss(ignore_index=),
# Adam(betas=(0.9, 0.98), eps=1e-9), xavier_uniform_ on every p with p.dim() > 1), written for
# this test on a synthetic task: reverse a padded sequence of digits.
# Only the import lines differ from the PyTorch program.
import math

import numpy as np

import glassnet as torch
import glassnet.nn as nn
from glassnet import Tensor
from glassnet.nn import Transformer

from _data import deterministic_state

PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2
VOCAB = 13
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size: int, dropout: float, maxlen: int = 64):
        super(PositionalEncoding, self).__init__()
        den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pos_embedding", pos_embedding)

    def forward(self, token_embedding: Tensor):
        return self.dropout(token_embedding + self.pos_embedding[: token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size):
        super(TokenEmbedding, self).__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Tensor):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, vocab_size,
                 dim_feedforward=512, dropout=0.1):  # fmt: skip
        super(Seq2SeqTransformer, self).__init__()
        self.transformer = Transformer(
            d_model=emb_size,
            nhead=nhead,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
        )
        self.generator = nn.Linear(emb_size, vocab_size)
        self.src_tok_emb = TokenEmbedding(vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                memory_key_padding_mask):  # fmt: skip
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None, src_padding_mask,
                                tgt_padding_mask, memory_key_padding_mask)  # fmt: skip
        return self.generator(outs)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
    return mask


def create_mask(src, tgt):
    src_seq_len = src.shape[0]
    tgt_seq_len = tgt.shape[0]
    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)
    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


def make_batch(rng, batch_size=16, max_len=7):
    """Columns are sequences (S, N): BOS digits EOS PAD...; the target is the reversal."""
    src = np.full((max_len + 2, batch_size), PAD_IDX, np.int64)
    tgt = np.full((max_len + 2, batch_size), PAD_IDX, np.int64)
    for j in range(batch_size):
        n = rng.integers(3, max_len + 1)
        digits = rng.integers(3, VOCAB, n)
        src[: n + 2, j] = [BOS_IDX, *digits, EOS_IDX]
        tgt[: n + 2, j] = [BOS_IDX, *digits[::-1], EOS_IDX]
    return torch.from_numpy(src), torch.from_numpy(tgt)


torch.manual_seed(0)
transformer = Seq2SeqTransformer(2, 2, 16, 2, VOCAB, dim_feedforward=32, dropout=0.0)
for p in transformer.parameters():
    if p.dim() > 1:
        nn.init.xavier_uniform_(p)
state = deterministic_state(transformer, torch, seed=5)
state["positional_encoding.pos_embedding"] = transformer.positional_encoding.pos_embedding
transformer.load_state_dict(state)
transformer = transformer.to(DEVICE)
loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
optimizer = torch.optim.Adam(transformer.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-9)

rng = np.random.default_rng(0)
losses = []
transformer.train()
for step in range(10):
    src, tgt = make_batch(rng)
    src, tgt = src.to(DEVICE), tgt.to(DEVICE)
    tgt_input = tgt[:-1, :]
    src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
    logits = transformer(src, tgt_input, src_mask, tgt_mask, src_padding_mask,
                         tgt_padding_mask, src_padding_mask)  # fmt: skip
    optimizer.zero_grad()
    tgt_out = tgt[1:, :]
    loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print("losses", [f"{v:.3f}" for v in losses])
