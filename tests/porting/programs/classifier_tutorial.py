# An image classifier in the style of PyTorch's "Training a Classifier" tutorial
# (https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html, BSD-3-Clause): the
# same idioms (pool(F.relu(conv(x))), torch.flatten(x, 1), nn.CrossEntropyLoss, SGD with
# momentum, running_loss += loss.item(), torch.max(outputs.data, 1), labels.size(0),
# (predicted == labels).sum().item(), per-class counts over zip(labels, predictions),
# torch.save(state_dict) / load_state_dict(torch.load(PATH, weights_only=True))), written for
# this test on the bundled 8x8 digits. Only the import lines differ from the PyTorch program.
import os
import tempfile

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F
import glassnet.optim as optim
import glassnet.utils.data

from _data import deterministic_state, digits

classes = tuple(str(d) for d in range(10))
images, labels = digits(320)
trainset = torch.utils.data.TensorDataset(torch.tensor(images[:256]), torch.tensor(labels[:256]))
trainloader = torch.utils.data.DataLoader(trainset, batch_size=32, shuffle=False, num_workers=2)
testset = torch.utils.data.TensorDataset(torch.tensor(images[256:]), torch.tensor(labels[256:]))
testloader = torch.utils.data.DataLoader(testset, batch_size=16, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 2)
        self.fc1 = nn.Linear(16 * 1 * 1, 32)
        self.fc2 = nn.Linear(32, 24)
        self.fc3 = nn.Linear(24, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = Net()
net.load_state_dict(deterministic_state(net, torch, seed=1))
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

losses = []
for epoch in range(2):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        losses.append(loss.item())
        if i % 4 == 3:
            print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 4:.3f}")
            running_loss = 0.0
print("Finished Training")

PATH = os.path.join(tempfile.mkdtemp(), "digits_net.pth")
torch.save(net.state_dict(), PATH)
net = Net()
net.load_state_dict(torch.load(PATH, weights_only=True))

correct = 0
total = 0
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
        for label, prediction in zip(labels, predicted):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
for classname, correct_count in correct_pred.items():
    accuracy = 100 * float(correct_count) / max(total_pred[classname], 1)
    print(f"Accuracy for class: {classname:5s} is {accuracy:.1f} %")
losses.append(float(correct))
