# Fitting sin(x) with a custom autograd Function, in the style of PyTorch's
# "Defining New autograd Functions" tutorial
# (https://pytorch.org/tutorials/beginner/examples_autograd/polynomial_custom_function.html,
# BSD-3-Clause): the same idioms (a torch.autograd.Function subclass with static
# forward(ctx, input) / backward(ctx, grad_output), ctx.save_for_backward / ctx.saved_tensors,
# Fn.apply, torch.full((), value, dtype=, requires_grad=True), (y_pred - y).pow(2).sum(),
# manual updates under torch.no_grad() with `a -= lr * a.grad` and `a.grad = None`), written
# for this test. Only the import lines differ from the PyTorch program.
import math

import glassnet as torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


dtype = torch.float
device = torch.device("cpu")
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
losses = []
for t in range(300):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())
    if t % 20 == 0:
        losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
losses += [a.item(), b.item(), c.item(), d.item()]
