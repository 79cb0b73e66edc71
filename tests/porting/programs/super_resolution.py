# Sub-pixel super-resolution in the style of PyTorch's official example
# (https://github.com/pytorch/examples/tree/main/super_resolution, BSD-3-Clause): the same
# idioms (Net of Conv2d(in, out, (k, k), (1, 1), (p, p)) + ReLU and nn.PixelShuffle,
# _initialize_weights with init.orthogonal_(w, init.calculate_gain('relu')); MSELoss and Adam,
# train(epoch) over a DataLoader with batch[0].to(device), test() reporting PSNR as
# 10 * log10(1 / mse.item()) under torch.no_grad(); the device from torch.accelerator;
# super_resolve's view(1, -1, h, w) and out[0].detach().numpy() * 255 clipped), written for
# this test at a tiny size on the bundled digits: targets are the 8x8 digits, inputs their
# 4x4 block means. The orthogonal weights are random, so the program records their norms
# (gain * sqrt(min(rows, cols))) and then loads NumPy weights that both frameworks share.
# Only the import lines differ from the PyTorch program.
from math import log10

import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.init as init
import glassnet.optim as optim
from glassnet.utils.data import DataLoader, TensorDataset

from _data import deterministic_state, digits


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor**2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv4.weight)


upscale_factor = 2
batchSize = 16
testBatchSize = 32
nEpochs = 2
lr = 0.01
accel = True

if accel and torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
print(device)

torch.manual_seed(123)

images, _ = digits(224)
hr = images
lr_images = hr.reshape(-1, 1, 4, 2, 4, 2).mean(axis=(3, 5))
train_set = TensorDataset(torch.from_numpy(lr_images[:160]), torch.from_numpy(hr[:160]))
test_set = TensorDataset(torch.from_numpy(lr_images[160:]), torch.from_numpy(hr[160:]))
training_data_loader = DataLoader(dataset=train_set, batch_size=batchSize, shuffle=False)
testing_data_loader = DataLoader(dataset=test_set, batch_size=testBatchSize, shuffle=False)

model = Net(upscale_factor=upscale_factor).to(device)
losses = []
for conv in (model.conv1, model.conv2, model.conv3, model.conv4):
    w = conv.weight.data.view(conv.weight.size(0), -1)
    rows, cols = w.shape
    gram = w @ w.t() if rows <= cols else w.t() @ w
    gain_sq = gram.diagonal().mean().item()
    off = (gram - gain_sq * torch.eye(min(rows, cols))).abs().max().item()
    assert off < 1e-5, off
    losses.append(conv.weight.norm().item())
model.load_state_dict(deterministic_state(model, torch, seed=5))
criterion = nn.MSELoss()

optimizer = optim.Adam(model.parameters(), lr=lr)


def train(epoch):
    epoch_loss = 0
    for iteration, batch in enumerate(training_data_loader, 1):
        input, target = batch[0].to(device), batch[1].to(device)

        optimizer.zero_grad()
        loss = criterion(model(input), target)
        epoch_loss += loss.item()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

        print(
            "===> Epoch[{}]({}/{}): Loss: {:.4f}".format(
                epoch, iteration, len(training_data_loader), loss.item()
            )
        )

    print(
        "===> Epoch {} Complete: Avg. Loss: {:.4f}".format(
            epoch, epoch_loss / len(training_data_loader)
        )
    )


def test():
    avg_psnr = 0
    with torch.no_grad():
        for batch in testing_data_loader:
            input, target = batch[0].to(device), batch[1].to(device)

            prediction = model(input)
            mse = criterion(prediction, target)
            psnr = 10 * log10(1 / mse.item())
            avg_psnr += psnr
    print("===> Avg. PSNR: {:.4f} dB".format(avg_psnr / len(testing_data_loader)))
    losses.append(avg_psnr / len(testing_data_loader))


for epoch in range(1, nEpochs + 1):
    train(epoch)
    test()

# super_resolve.py: one image through the trained model
y = lr_images[-1, 0]
input = torch.from_numpy(y.copy()).view(1, -1, y.shape[1], y.shape[0])
input = input.to(device)
out = model(input)
out = out.cpu()
out_img_y = out[0].detach().numpy()
out_img_y *= 255.0
out_img_y = out_img_y.clip(0, 255)
losses.append(float(np.mean(out_img_y)))
