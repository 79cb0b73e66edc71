# A convolutional digit classifier in the style of PyTorch's official MNIST example
# (https://github.com/pytorch/examples/blob/main/mnist/main.py, BSD-3-Clause): the same
# idioms (Net with conv/dropout/linear, F.log_softmax + F.nll_loss, Adadelta with StepLR,
# train()/test() loops over DataLoaders, argmax(dim=1, keepdim=True), eq(view_as), .item()),
# written for this test on the bundled 8x8 digits. Dropout is 0 so the run is deterministic
# across frameworks. Only the import lines differ from the PyTorch program.
import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F
import glassnet.optim as optim
from glassnet.optim.lr_scheduler import StepLR
from glassnet.utils.data import DataLoader, TensorDataset

from _data import deterministic_state, digits


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.0)
        self.dropout2 = nn.Dropout(0.0)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, device, train_loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        log.append(loss.item())
        if batch_idx % 2 == 0:
            print(
                "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                    epoch,
                    batch_idx * len(data),
                    len(train_loader.dataset),
                    100.0 * batch_idx / len(train_loader),
                    loss.item(),
                )
            )


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print(
        f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(test_loader.dataset)}"
    )
    return test_loss, correct


use_cuda = torch.cuda.is_available()
use_mps = torch.backends.mps.is_available()
torch.manual_seed(1)
device = torch.device("cuda" if use_cuda else "mps" if use_mps else "cpu")

images, labels = digits(384)
train_set = TensorDataset(torch.from_numpy(images[:256]), torch.from_numpy(labels[:256]))
test_set = TensorDataset(torch.from_numpy(images[256:]), torch.from_numpy(labels[256:]))
train_loader = DataLoader(train_set, batch_size=64, shuffle=False, num_workers=0, pin_memory=False)
test_loader = DataLoader(test_set, batch_size=128)

model = Net().to(device)
model.load_state_dict(deterministic_state(model, torch, seed=0))
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)

losses = []
for epoch in range(1, 3):
    train(model, device, train_loader, optimizer, epoch, losses)
    test_loss, correct = test(model, device, test_loader)
    losses.append(test_loss)
    losses.append(float(correct))
    scheduler.step()
