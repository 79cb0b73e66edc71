# A temporal convolutional network in the style of locuslab/TCN
# (https://github.com/locuslab/TCN, TCN/tcn.py and TCN/adding_problem, MIT License): the same
# idioms (Chomp1d's x[:, :, :-self.chomp_size].contiguous(), TemporalBlock with weight_norm'ed
# dilated nn.Conv1d(padding=(kernel_size-1) * dilation) and the convs also registered inside
# self.net = nn.Sequential(...), init_weights with self.conv1.weight.data.normal_(0, 0.01),
# a 1x1 nn.Conv1d downsample residual when the widths differ, relu(out + res),
# TemporalConvNet with dilation 2 ** i, the adding problem's data_generator and
# self.linear(y1[:, :, -1]), F.mse_loss, Adam, clip_grad_norm_), written for this test at a
# tiny size. The first model uses torch.nn.utils.weight_norm (the original's, legacy), the
# second torch.nn.utils.parametrizations.weight_norm. The data are drawn with NumPy so that
# both frameworks see the same ones. Only the import lines differ from the PyTorch program.
import warnings

import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F
import glassnet.optim as optim
from glassnet.nn.utils import parametrizations, weight_norm

from _data import deterministic_state

warnings.filterwarnings("ignore", category=FutureWarning)
torch.manual_seed(1111)
rng = np.random.default_rng(1111)


class Chomp1d(nn.Module):
    def __init__(self, chomp_size):
        super(Chomp1d, self).__init__()
        self.chomp_size = chomp_size

    def forward(self, x):
        return x[:, :, : -self.chomp_size].contiguous()


class TemporalBlock(nn.Module):
    def __init__(
        self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.2,
        norm=weight_norm,
    ):  # fmt: skip
        super(TemporalBlock, self).__init__()
        self.conv1 = norm(
            nn.Conv1d(
                n_inputs, n_outputs, kernel_size, stride=stride, padding=padding, dilation=dilation
            )
        )
        self.chomp1 = Chomp1d(padding)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)

        self.conv2 = norm(
            nn.Conv1d(
                n_outputs, n_outputs, kernel_size, stride=stride, padding=padding, dilation=dilation
            )
        )
        self.chomp2 = Chomp1d(padding)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)

        self.net = nn.Sequential(
            self.conv1, self.chomp1, self.relu1, self.dropout1,
            self.conv2, self.chomp2, self.relu2, self.dropout2,
        )  # fmt: skip
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()
        self.init_weights()

    def init_weights(self):
        self.conv1.weight.data.normal_(0, 0.01)
        self.conv2.weight.data.normal_(0, 0.01)
        if self.downsample is not None:
            self.downsample.weight.data.normal_(0, 0.01)

    def forward(self, x):
        out = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class TemporalConvNet(nn.Module):
    def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.2, norm=weight_norm):
        super(TemporalConvNet, self).__init__()
        layers = []
        num_levels = len(num_channels)
        for i in range(num_levels):
            dilation_size = 2**i
            in_channels = num_inputs if i == 0 else num_channels[i - 1]
            out_channels = num_channels[i]
            layers += [
                TemporalBlock(
                    in_channels, out_channels, kernel_size, stride=1, dilation=dilation_size,
                    padding=(kernel_size - 1) * dilation_size, dropout=dropout, norm=norm,
                )
            ]  # fmt: skip
        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)


class TCN(nn.Module):
    def __init__(self, input_size, output_size, num_channels, kernel_size, dropout, norm):
        super(TCN, self).__init__()
        self.tcn = TemporalConvNet(
            input_size, num_channels, kernel_size=kernel_size, dropout=dropout, norm=norm
        )
        self.linear = nn.Linear(num_channels[-1], output_size)
        self.init_weights()

    def init_weights(self):
        self.linear.weight.data.normal_(0, 0.01)

    def forward(self, x):
        y1 = self.tcn(x)
        return self.linear(y1[:, :, -1])


def data_generator(N, seq_length):
    X_num = rng.random((N, 1, seq_length)).astype(np.float32)
    X_mask = np.zeros((N, 1, seq_length), dtype=np.float32)
    Y = np.zeros((N, 1), dtype=np.float32)
    for i in range(N):
        positions = rng.choice(seq_length, size=2, replace=False)
        X_mask[i, 0, positions[0]] = 1
        X_mask[i, 0, positions[1]] = 1
        Y[i, 0] = X_num[i, 0, positions[0]] + X_num[i, 0, positions[1]]
    X = torch.cat((torch.from_numpy(X_num), torch.from_numpy(X_mask)), dim=1)
    return X, torch.from_numpy(Y)


seq_length, batch_size, clip, optim_name = 24, 16, 1.0, "Adam"
X_train, Y_train = data_generator(96, seq_length)
X_test, Y_test = data_generator(32, seq_length)
channel_sizes = [8, 8, 6]

losses = []
for seed, norm in ((41, weight_norm), (42, parametrizations.weight_norm)):
    model = TCN(2, 1, channel_sizes, kernel_size=3, dropout=0.0, norm=norm)
    model.load_state_dict(deterministic_state(model, torch, seed=seed))
    optimizer = getattr(optim, optim_name)(model.parameters(), lr=4e-3)

    def evaluate(model):
        model.eval()
        with torch.no_grad():
            output = model(X_test)
            test_loss = F.mse_loss(output, Y_test)
            return test_loss.item()

    for epoch in range(1, 3):
        model.train()
        for i in range(0, X_train.size(0), batch_size):
            x, y = X_train[i : i + batch_size], Y_train[i : i + batch_size]
            optimizer.zero_grad()
            output = model(x)
            loss = F.mse_loss(output, y)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
        losses.append(evaluate(model))
print("losses", [round(v, 4) for v in losses])
