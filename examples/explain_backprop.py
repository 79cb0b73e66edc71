"""Watch backpropagation happen: the chain rule, node by node, with real numbers.

A one-neuron "network" y = sigmoid(w x + b) with a squared-error loss. ``gn.backprop_steps``
prints, for every node of the backward pass, ``upstream x local derivative = downstream``;
the script then checks the final gradients against the chain rule written out by hand, and
saves the computation graph (values, gradients, formulas per node) as a self-contained HTML
page in a temporary folder.

Run: python examples/explain_backprop.py   (under 1 s)
"""

import math
import os
import tempfile

import glassnet as gn

x, target = 1.5, 1.0
w = gn.tensor([0.8], requires_grad=True)
b = gn.tensor([-0.5], requires_grad=True)

with gn.record_layers():  # not needed here (no layers), but groups nodes in a real model
    z = w * x + b
    y = gn.sigmoid(z)
    loss = ((y - target) ** 2).sum()
print(f"forward: z = {z.item():.4f}, y = sigmoid(z) = {y.item():.4f}, loss = {loss.item():.4f}\n")

gn.explain("sigmoid")
print()
steps = gn.backprop_steps(loss)  # records the backward pass without touching .grad
for step in steps:
    print(step)
print()

# The same chain rule by hand: dL/dw = dL/dy * dy/dz * dz/dw
zv = 0.8 * x - 0.5
yv = 1 / (1 + math.exp(-zv))
dL_dy = 2 * (yv - target)
dy_dz = yv * (1 - yv)
by_hand_w, by_hand_b = dL_dy * dy_dz * x, dL_dy * dy_dz * 1.0

folder = tempfile.mkdtemp(prefix="glassnet-graph-")
path = gn.graph(loss, names={w: "w", b: "b"}).save(os.path.join(folder, "graph.html"))

loss.backward()
print(f"dL/dw: glassnet {w.grad.item():+.6f}   by hand {by_hand_w:+.6f}")
print(f"dL/db: glassnet {b.grad.item():+.6f}   by hand {by_hand_b:+.6f}")
ok = abs(w.grad.item() - by_hand_w) < 1e-5 and abs(b.grad.item() - by_hand_b) < 1e-5
print("chain rule matches autograd:", ok)
print(f"graph saved to {path} ({os.path.getsize(path):,} bytes): open it in a browser")
