# Sine-wave sequence prediction with stacked LSTMCells and L-BFGS, in the style of PyTorch's
# time_sequence_prediction example
# (https://github.com/pytorch/examples/tree/main/time_sequence_prediction, BSD-3-Clause): the
# same idioms (nn.LSTMCell stepped over input.split(1, dim=1), torch.zeros(n, h,
# dtype=torch.double).to(device), torch.cat(outputs, dim=1), .double() models, optim.LBFGS
# with a closure, predicting the future under torch.no_grad()), written for this test with
# smaller sizes. Only the import lines differ from the PyTorch program.
import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.optim as optim

from _data import deterministic_state

HIDDEN = 12


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        c_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        h_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        c_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


device = torch.device("cpu")
np.random.seed(0)
torch.manual_seed(0)
T, L, N = 20, 60, 12
x = np.empty((N, L), np.int64)
x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
data = torch.from_numpy(np.sin(x / 1.0 / T).astype("float64")).to(device)
input = data[3:, :-1]
target = data[3:, 1:]
test_input = data[:3, :-1]
test_target = data[:3, 1:]

seq = Sequence().to(device).double()
seq.load_state_dict(deterministic_state(seq, torch, seed=2))
criterion = nn.MSELoss().to(device)
optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=6)
losses = []
for i in range(3):
    print("STEP: ", i)

    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        print("loss:", loss.item())
        losses.append(loss.item())
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        future = 10
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
        print("test loss:", loss.item())
        losses.append(loss.item())
        y = pred.detach().numpy()
