# Knowledge distillation in the style of PyTorch's "Knowledge Distillation Tutorial"
# (https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html, BSD-3-Clause):
# the same idioms (DeepNN teacher and LightNN student as nn.Sequential features + classifier
# with torch.flatten(x, 1), train() with nn.CrossEntropyLoss and Adam, test() with
# torch.max(outputs, 1) and (predicted == labels).sum().item(), train_knowledge_distillation
# with teacher.eval() / student.train(), teacher logits under torch.no_grad(), soft targets
# nn.functional.softmax(teacher_logits / T, dim=-1) against
# nn.functional.log_softmax(student_logits / T, dim=-1), the soft-target loss
# torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2),
# weighted with the label loss), and the same loss written with nn.KLDivLoss(
# reduction="batchmean") (and log_target=True), the teacher frozen with requires_grad_(False),
# written for this test at a tiny size on the bundled digits. Only the import lines differ from
# the PyTorch program.
import glassnet as torch
import glassnet.nn as nn
import glassnet.optim as optim
from glassnet.utils.data import DataLoader, TensorDataset

from _data import deterministic_state, digits

torch.manual_seed(42)
device = "cuda" if torch.cuda.is_available() else "cpu"
images, labels = digits(384)
train_dataset = TensorDataset(torch.tensor(images[:320]), torch.tensor(labels[:320]))
test_dataset = TensorDataset(torch.tensor(images[320:]), torch.tensor(labels[320:]))
train_loader = DataLoader(train_dataset, batch_size=64, shuffle=False, num_workers=2)
test_loader = DataLoader(test_dataset, batch_size=64, shuffle=False, num_workers=2)


class DeepNN(nn.Module):
    def __init__(self, num_classes=10):
        super(DeepNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(16, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(32, 64),
            nn.ReLU(),
            nn.Dropout(0.0),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


class LightNN(nn.Module):
    def __init__(self, num_classes=10):
        super(LightNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(4, 4, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16, 32),
            nn.ReLU(),
            nn.Dropout(0.0),
            nn.Linear(32, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def train(model, train_loader, epochs, learning_rate, device):
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    history = []
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader)}")
        history.append(running_loss / len(train_loader))
    return history


def test(model, test_loader, device):
    model.to(device)
    model.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for inputs, labels in test_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            outputs = model(inputs)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    accuracy = 100 * correct / total
    print(f"Test Accuracy: {accuracy:.2f}%")
    return accuracy


def train_knowledge_distillation(
    teacher, student, train_loader, epochs, learning_rate, T, soft_target_loss_weight,
    ce_loss_weight, device, variant="manual",
):  # fmt: skip
    ce_loss = nn.CrossEntropyLoss()
    kl_loss = nn.KLDivLoss(reduction="batchmean")
    kl_log_target = nn.KLDivLoss(reduction="batchmean", log_target=True)
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    teacher.eval()
    student.train()
    history = []
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            with torch.no_grad():
                teacher_logits = teacher(inputs)
            student_logits = student(inputs)
            soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
            soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
            if variant == "manual":
                soft_targets_loss = (
                    torch.sum(soft_targets * (soft_targets.log() - soft_prob))
                    / soft_prob.size()[0]
                    * (T**2)
                )
            elif variant == "kldiv":
                soft_targets_loss = kl_loss(soft_prob, soft_targets) * (T * T)
            else:
                log_targets = nn.functional.log_softmax(teacher_logits / T, dim=-1)
                soft_targets_loss = kl_log_target(soft_prob, log_targets) * (T * T)
            label_loss = ce_loss(student_logits, labels)
            loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            history.append(soft_targets_loss.item())
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader)}")
        history.append(running_loss / len(train_loader))
    return history


losses = []
nn_deep = DeepNN(num_classes=10).to(device)
nn_deep.load_state_dict(deterministic_state(nn_deep, torch, seed=31))
losses += train(nn_deep, train_loader, epochs=3, learning_rate=0.003, device=device)
losses.append(test(nn_deep, test_loader, device))

nn_deep.requires_grad_(False)
nn_deep.eval()
assert all(not p.requires_grad for p in nn_deep.parameters())

for variant in ("manual", "kldiv", "log_target"):
    new_nn_light = LightNN(num_classes=10).to(device)
    new_nn_light.load_state_dict(deterministic_state(new_nn_light, torch, seed=32))
    losses += train_knowledge_distillation(
        teacher=nn_deep, student=new_nn_light, train_loader=train_loader, epochs=2,
        learning_rate=0.003, T=2, soft_target_loss_weight=0.25, ce_loss_weight=0.75,
        device=device, variant=variant,
    )  # fmt: skip
    losses.append(test(new_nn_light, test_loader, device))
print("losses", [round(v, 4) for v in losses])
