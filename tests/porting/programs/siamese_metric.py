# Siamese networks and metric learning in the style of pytorch/examples siamese_network
# (https://github.com/pytorch/examples/tree/main/siamese_network, main.py, BSD-3-Clause) and
# the contrastive loss of harveyslash/Facial-Similarity-with-Siamese-Networks-in-Pytorch
# (MIT): the same idioms (forward_once shared by both branches, output.view(output.size()[0],
# -1), torch.cat((output1, output2), 1) into an fc head with nn.ReLU(inplace=True) and
# nn.Sigmoid, nn.BCELoss on float pair labels, self.fc.apply(self.init_weights) with
# xavier_uniform_ and m.bias.data.fill_(0.01), Adadelta + StepLR(step_size=1, gamma=0.7),
# ContrastiveLoss with F.pairwise_distance(keepdim=True) and torch.clamp(margin - d, min=0.0)),
# plus the metric losses of torch.nn used on the same embeddings (nn.TripletMarginLoss,
# nn.CosineEmbeddingLoss, nn.MarginRankingLoss, F.cosine_similarity, nn.PairwiseDistance),
# written for this test at a tiny size on the bundled digits. Pairs and triplets are drawn with
# NumPy. Only the import lines differ from the PyTorch program.
import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F
import glassnet.optim as optim
from glassnet.optim.lr_scheduler import StepLR

from _data import deterministic_state, digits

torch.manual_seed(1)
rng = np.random.default_rng(1)
images, labels = digits(400)
by_class = [np.flatnonzero(labels == c) for c in range(10)]


def make_pairs(n):
    first = rng.integers(0, len(labels), n)
    same = rng.random(n) < 0.5
    second = []
    for i, s in zip(first, same):
        others = by_class[labels[i]] if s else np.flatnonzero(labels != labels[i])
        second.append(rng.choice(others))
    second = np.array(second)
    return (
        torch.from_numpy(images[first]),
        torch.from_numpy(images[second]),
        torch.from_numpy(same.astype(np.float32)),
    )


def make_triplets(n):
    anchor = rng.integers(0, len(labels), n)
    positive = np.array([rng.choice(by_class[labels[i]]) for i in anchor])
    negative = np.array([rng.choice(np.flatnonzero(labels != labels[i])) for i in anchor])
    return tuple(torch.from_numpy(images[idx]) for idx in (anchor, positive, negative))


class SiameseNetwork(nn.Module):
    def __init__(self):
        super(SiameseNetwork, self).__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),
        )
        self.fc_in_features = 16
        self.fc = nn.Sequential(
            nn.Linear(self.fc_in_features * 2, 32),
            nn.ReLU(inplace=True),
            nn.Linear(32, 1),
        )
        self.sigmoid = nn.Sigmoid()
        self.cnn.apply(self.init_weights)
        self.fc.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            m.bias.data.fill_(0.01)

    def forward_once(self, x):
        output = self.cnn(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)
        output = torch.cat((output1, output2), 1)
        output = self.fc(output)
        output = self.sigmoid(output)
        return output


class ContrastiveLoss(torch.nn.Module):
    def __init__(self, margin=2.0):
        super(ContrastiveLoss, self).__init__()
        self.margin = margin

    def forward(self, output1, output2, label):
        euclidean_distance = F.pairwise_distance(output1, output2, keepdim=True)
        loss_contrastive = torch.mean(
            (1 - label) * torch.pow(euclidean_distance, 2)
            + label * torch.pow(torch.clamp(self.margin - euclidean_distance, min=0.0), 2)
        )
        return loss_contrastive


model = SiameseNetwork()
model.load_state_dict(deterministic_state(model, torch, seed=21))
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
criterion = nn.BCELoss()

losses = []
for epoch in range(1, 3):
    model.train()
    for batch_idx in range(5):
        images_1, images_2, targets = make_pairs(24)
        optimizer.zero_grad()
        outputs = model(images_1, images_2).squeeze()
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        images_1, images_2, targets = make_pairs(64)
        outputs = model(images_1, images_2).squeeze()
        test_loss = criterion(outputs, targets).item()
        pred = torch.where(outputs > 0.5, 1, 0)
        correct = pred.eq(targets.view_as(pred)).sum().item()
    losses += [test_loss, correct]
    scheduler.step()

# Metric learning on the embeddings of forward_once: contrastive, triplet, cosine-embedding
# and margin-ranking losses together, trained with Adam.
contrastive = ContrastiveLoss(margin=1.0)
triplet_loss = nn.TripletMarginLoss(margin=1.0, p=2)
swap_loss = nn.TripletMarginLoss(margin=0.5, p=1, swap=True, reduction="sum")
cosine_loss = nn.CosineEmbeddingLoss(margin=0.2)
ranking_loss = nn.MarginRankingLoss(margin=0.1)
pdist = nn.PairwiseDistance(p=2)
optimizer = optim.Adam(model.parameters(), lr=1e-2)
for step in range(10):
    model.train()
    a, p, n = make_triplets(16)
    x1, x2, same = make_pairs(16)
    ea, ep, en = model.forward_once(a), model.forward_once(p), model.forward_once(n)
    e1, e2 = model.forward_once(x1), model.forward_once(x2)
    loss_c = contrastive(e1, e2, 1 - same)
    loss_t = triplet_loss(ea, ep, en)
    loss_s = swap_loss(ea, ep, en) / 16
    loss_cos = cosine_loss(e1, e2, 2 * same - 1)
    sim_pos = F.cosine_similarity(ea, ep)
    sim_neg = F.cosine_similarity(ea, en, dim=1, eps=1e-8)
    loss_r = ranking_loss(sim_pos, sim_neg, torch.ones_like(sim_pos))
    loss = loss_c + loss_t + loss_s + loss_cos + loss_r
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        gap = (pdist(ea, en) - pdist(ea, ep)).mean()
    losses += [loss_c.item(), loss_t.item(), loss_s.item(), loss_cos.item(), loss_r.item()]
    losses.append(gap.item())
print("losses", [round(v, 4) for v in losses])
