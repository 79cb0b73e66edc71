"""The workloads of bench_train.py in each peer: data pools, models, step functions.

glassnet defines the initial weights; the PyTorch and NumPy peers copy them, so every peer
starts from identical weights and trains on identical batches.
"""

from __future__ import annotations

import os

POOL = 8  # batches in the fixed data pool


def make_pool(workload: str, cfg: dict, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(POOL):
        if workload == "W3":
            tokens = rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["ctx"] + 1))
            pool.append((tokens[:, :-1].astype(np.int64), tokens[:, 1:].astype(np.int64)))
            continue
        shape = (cfg["batch"], 1, 28, 28) if workload == "W2" else (cfg["batch"], cfg["sizes"][0])
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, cfg["batch"]).astype(np.int64)
        pool.append((x, y))
    return pool


def config(workload: str, width: int | None = None, batch: int | None = None) -> dict:
    if workload == "W1":
        w = width or 256
        return {"sizes": (784, w, w, 10), "batch": batch or 128, "opt": "sgd"}
    if workload == "W1s":
        return {"sizes": (64, 128, 128, 10), "batch": 64, "opt": "sgd"}
    if workload == "W2":
        return {"batch": 64, "opt": "adam"}
    return {"vocab": 65, "ctx": 128, "batch": 16, "d": 128, "heads": 4, "layers": 4, "opt": "adamw"}


def build_glassnet(workload: str, cfg: dict):
    import glassnet as gn
    from glassnet import nn

    gn.manual_seed(0)
    if workload in ("W1", "W1s"):
        s = cfg["sizes"]
        model = nn.Sequential(
            nn.Linear(s[0], s[1]),
            nn.ReLU(),
            nn.Linear(s[1], s[2]),
            nn.ReLU(),
            nn.Linear(s[2], s[3]),
        )
    elif workload == "W2":
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )  # fmt: skip
    else:
        model = GlassGPT(cfg)
    return model


class GlassGPT:
    """Token + position embeddings, pre-norm GELU encoder layers with a causal mask, LN, head."""

    def __new__(cls, cfg):
        import glassnet as gn
        from glassnet import nn
        from glassnet.nn.layers.transformer import generate_square_subsequent_mask

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                d = cfg["d"]
                self.tok = nn.Embedding(cfg["vocab"], d)
                self.pos = nn.Embedding(cfg["ctx"], d)
                self.layers = nn.ModuleList(
                    [
                        nn.TransformerEncoderLayer(
                            d,
                            cfg["heads"],
                            4 * d,
                            dropout=0.0,
                            activation="gelu",
                            batch_first=True,
                            norm_first=True,
                        )  # fmt: skip
                        for _ in range(cfg["layers"])
                    ]
                )
                self.norm = nn.LayerNorm(d)
                self.head = nn.Linear(d, cfg["vocab"])
                self.positions = gn.arange(cfg["ctx"])
                self.mask = generate_square_subsequent_mask(cfg["ctx"])

            def forward(self, idx):
                if self.positions.device != idx.device:  # plain attributes: moved once here
                    self.positions = self.positions.to(idx.device)
                    self.mask = self.mask.to(idx.device)
                h = self.tok(idx) + self.pos(self.positions)
                for layer in self.layers:
                    h = layer(h, src_mask=self.mask, is_causal=True)
                return self.head(self.norm(h))

        return GPT()


def glassnet_step_fn(workload: str, cfg: dict, model):
    import glassnet as gn
    import glassnet.functional as F

    params = list(model.parameters())
    if cfg["opt"] == "sgd":
        opt = gn.optim.SGD(params, lr=0.01, momentum=0.9)
    elif cfg["opt"] == "adam":
        opt = gn.optim.Adam(params, lr=1e-3)
    else:
        opt = gn.optim.AdamW(params, lr=3e-4, weight_decay=0.01)

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return step


def build_torch(workload: str, cfg: dict, gmodel):
    import torch
    import torch.nn as tnn
    import torch.nn.functional as tF

    if workload in ("W1", "W1s"):
        s = cfg["sizes"]
        model = tnn.Sequential(
            tnn.Linear(s[0], s[1]), tnn.ReLU(), tnn.Linear(s[1], s[2]), tnn.ReLU(),
            tnn.Linear(s[2], s[3]),
        )  # fmt: skip
    elif workload == "W2":
        model = tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10),
        )  # fmt: skip
    else:

        class GPT(tnn.Module):
            def __init__(self):
                super().__init__()
                d = cfg["d"]
                self.tok = tnn.Embedding(cfg["vocab"], d)
                self.pos = tnn.Embedding(cfg["ctx"], d)
                self.layers = tnn.ModuleList(
                    [
                        tnn.TransformerEncoderLayer(
                            d,
                            cfg["heads"],
                            4 * d,
                            dropout=0.0,
                            activation="gelu",
                            batch_first=True,
                            norm_first=True,
                        )  # fmt: skip
                        for _ in range(cfg["layers"])
                    ]
                )
                self.norm = tnn.LayerNorm(d)
                self.head = tnn.Linear(d, cfg["vocab"])
                self.register_buffer("positions", torch.arange(cfg["ctx"]))
                self.register_buffer(
                    "mask", tnn.Transformer.generate_square_subsequent_mask(cfg["ctx"])
                )

            def forward(self, idx):
                if self.positions.device != idx.device:  # plain attributes: moved once here
                    self.positions = self.positions.to(idx.device)
                    self.mask = self.mask.to(idx.device)
                h = self.tok(idx) + self.pos(self.positions)
                for layer in self.layers:
                    h = layer(h, src_mask=self.mask, is_causal=True)
                return self.head(self.norm(h))

        model = GPT()
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in gmodel.state_dict().items()}
    model.load_state_dict(state, strict=False)
    missing = set(model.state_dict()) - set(state) - {"positions", "mask"}
    if missing:
        raise RuntimeError(f"torch peer: weights not copied from glassnet: {sorted(missing)}")
    if cfg["opt"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    elif cfg["opt"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = tF.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return step


def build_numpy(cfg: dict, gmodel):
    """The floor: forward, hand-written backward and SGD-momentum for the MLP, in NumPy."""
    import numpy as np

    ws = [p.numpy().copy() for p in gmodel.parameters()]  # W1, b1, W2, b2, W3, b3
    bufs = [None] * len(ws)
    lr, mu = 0.01, 0.9

    def step(x, y):
        W1, b1, W2, b2, W3, b3 = ws
        n = x.shape[0]
        h1 = x @ W1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ W2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = np.log(s[:, 0]).mean() - z[rows, y].mean()
        g = e / s
        g[rows, y] -= 1
        g /= n
        gh2 = g @ W3
        gh2 *= h2 > 0
        gh1 = gh2 @ W2
        gh1 *= h1 > 0
        grads = (gh1.T @ x, gh1.sum(0), gh2.T @ h1, gh2.sum(0), g.T @ h2, g.sum(0))
        for i, (w, gr) in enumerate(zip(ws, grads)):
            if bufs[i] is None:
                bufs[i] = gr.copy()
            else:
                bufs[i] *= mu
                bufs[i] += gr
            w -= lr * bufs[i]
        return loss

    return step


def make_peer(peer: str, workload: str, cfg: dict):
    """(step function, pool of batches in that peer's types)."""
    import glassnet as gn

    if peer in ("glassnet", "compiled"):
        from glassnet.runtime import configure_malloc_once

        # What `fit` and `glassnet train` do (import glassnet does not): the glassnet peers
        # stand for users of fit. The NumPy and PyTorch peers keep the system allocator.
        configure_malloc_once()
    pool = make_pool(workload, cfg)
    gmodel = build_glassnet(workload, cfg)
    if peer == "torch":
        import torch

        threads = os.environ.get("OMP_NUM_THREADS", "").strip()
        if threads.isdigit():  # else PyTorch's own default (what its users get)
            torch.set_num_threads(int(threads))
        tpool = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in pool]
        return build_torch(workload, cfg, gmodel), tpool
    if peer == "numpy":
        return build_numpy(cfg, gmodel), pool
    step = glassnet_step_fn(workload, cfg, gmodel)
    if peer == "compiled":
        step = gn.compile(step)
    return step, [(gn.from_numpy(x), gn.from_numpy(y)) for x, y in pool]


def loss_value(v) -> float:
    return float(v.item() if hasattr(v, "item") else v)
