"""Record the PyTorch reference numbers in test_new_layers.py (run once by hand; never by tests).

    pip install torch==2.13.0 && python tests/porting/record_torch_layers.py

Builds each layer in PyTorch 2.13 (float64), overwrites every state_dict entry, in PyTorch's
key order, with rng.standard_normal(shape) * 0.3 from numpy's default_rng(seed), runs it on
numpy-generated inputs and prints the state_dict keys and the outputs as Python constants.
"""

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def fill(module, seed):
    rng = np.random.default_rng(seed)
    sd = module.state_dict()
    module.load_state_dict(
        {k: torch.tensor(rng.standard_normal(v.shape) * 0.3) for k, v in sd.items()}
    )
    return rng


def rounded(t):
    return [float(f"{v:.13g}") for v in t.detach().numpy().ravel()]


def cells():
    out = {}
    for name, make in {
        "RNNCell": lambda: torch.nn.RNNCell(3, 4),
        "RNNCell-relu": lambda: torch.nn.RNNCell(3, 4, nonlinearity="relu"),
        "LSTMCell": lambda: torch.nn.LSTMCell(3, 4),
        "GRUCell": lambda: torch.nn.GRUCell(3, 4),
        "GRUCell-nobias": lambda: torch.nn.GRUCell(3, 4, bias=False),
    }.items():
        m = make()
        rng = fill(m, 0)
        xs = torch.tensor(rng.standard_normal((3, 2, 3)))  # 3 steps, batch 2
        state = None
        for x in xs:
            state = m(x, state)
        flat = torch.cat([s.reshape(-1) for s in state]) if isinstance(state, tuple) else state
        out[name] = (list(m.state_dict()), rounded(flat))
    return out


def transformer(norm_first):
    m = torch.nn.Transformer(
        d_model=4,
        nhead=2,
        num_encoder_layers=1,
        num_decoder_layers=2,
        dim_feedforward=6,
        dropout=0.0,
        norm_first=norm_first,
    )
    rng = fill(m, 1)
    src = torch.tensor(rng.standard_normal((5, 2, 4)))  # (S, N, E): sequence first
    tgt = torch.tensor(rng.standard_normal((3, 2, 4)))
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    mask = torch.nn.Transformer.generate_square_subsequent_mask(3)
    out = m(src, tgt, tgt_mask=mask, src_key_padding_mask=pad, memory_key_padding_mask=pad)
    return list(m.state_dict()), rounded(out)


if __name__ == "__main__":
    print("TORCH_CELLS = {")
    for name, (keys, vals) in cells().items():
        print(f"    {name!r}: ({keys!r}, {vals!r}),")
    print("}")
    keys, post = transformer(False)
    _, pre = transformer(True)
    print(f"TORCH_TRANSFORMER_KEYS = {keys!r}")
    print(f"TORCH_TRANSFORMER_POST = {post!r}")
    print(f"TORCH_TRANSFORMER_PRE = {pre!r}")
