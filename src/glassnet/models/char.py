"""Character-level language models and text generation.

Both models map token ids (N, T) to next-character logits (N, T, V): the logits at position
t predict character t + 1 from characters 0..t. Train with ``loss="cross_entropy"`` (the
(N, T, V) / (N, T) shapes are flattened for you) on windows from
``glassnet.data.char_windows``.
"""

from __future__ import annotations

import numpy as np

from glassnet import nn
from glassnet.autograd.grad_mode import no_grad
from glassnet.models.presets import pre_norm_encoder
from glassnet.tensor import Tensor

__all__ = ["CharLSTM", "CharTransformer", "generate"]


class CharLSTM(nn.Module):
    """``Embedding(V, embed_dim) -> LSTM(hidden_size, num_layers) -> Linear(V)``."""

    def __init__(
        self,
        vocab_size: int,
        context_length: int = 128,
        embed_dim: int = 64,
        hidden_size: int = 256,
        num_layers: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.context_length = int(context_length)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)  # fmt: skip
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        output, _ = self.lstm(self.embed(ids))
        return self.head(output)


class CharTransformer(nn.Module):
    """A small GPT: token + position embeddings, ``num_layers`` pre-norm
    ``nn.TransformerEncoderLayer`` with a causal mask (position t sees 0..t only), a final
    LayerNorm and a Linear to the vocabulary."""

    def __init__(
        self,
        vocab_size: int,
        context_length: int = 128,
        d_model: int = 128,
        num_heads: int = 4,
        num_layers: int = 4,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.context_length = int(context_length)
        self.token = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(self.context_length, d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = pre_norm_encoder(d_model, num_heads, num_layers, dropout)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        steps = ids.shape[1]
        if steps > self.context_length:
            raise ValueError(
                f"CharTransformer: got sequences of {steps} characters but context_length is "
                f"{self.context_length}; feed at most the last {self.context_length}"
            )
        positions = Tensor(np.arange(steps), device=ids.device)
        h = self.dropout(self.token(ids) + self.position(positions))
        # True above the diagonal = "may not attend": position t never sees t + 1, t + 2, ...
        mask = Tensor(np.triu(np.ones((steps, steps), dtype=bool), k=1), device=ids.device)
        for layer in self.layers:
            h = layer(h, src_mask=mask, is_causal=True)
        return self.head(self.norm(h))


def generate(
    model,
    vocab,
    prompt: str = "\n",
    length: int = 300,
    temperature: float = 0.8,
    seed: int | None = 0,
) -> str:
    """Sample ``length`` characters after ``prompt``, one at a time.

    Each step feeds the last ``model.context_length`` characters, takes the logits ``z`` of
    the last position and draws the next character from ``softmax(z / temperature)``
    (temperature < 1 is more conservative, > 1 more adventurous; 0 picks the argmax).

    Returns:
        ``prompt`` followed by the generated text.
    """
    if length < 0 or temperature < 0:
        raise ValueError(
            f"generate: length and temperature must be >= 0, got {length}, {temperature}"
        )
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt)) or [0]
    context = int(getattr(model, "context_length", 128))
    device = next(iter(model.parameters())).device
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for _ in range(length):
                window = Tensor(np.asarray([ids[-context:]], dtype=np.int64), device=device)
                logits = model(window).numpy()[0, -1].astype(np.float64)
                if temperature == 0:
                    ids.append(int(logits.argmax()))
                    continue
                z = logits / temperature
                p = np.exp(z - z.max())
                ids.append(int(rng.choice(len(p), p=p / p.sum())))
    finally:
        model.train(was_training)
    return vocab.decode(ids)
