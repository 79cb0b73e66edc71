# SimCLR's contrastive NT-Xent loss (Chen et al. 2020) in the three forms common in public
# PyTorch code, written for this test at a tiny size on the bundled digits:
# - the compact form of many tutorials: F.normalize(torch.cat([z1, z2]), dim=1), z @ z.T /
#   temperature, torch.eye(2N, dtype=torch.bool) and masked_fill(mask, -9e15), labels from
#   torch.arange(2N).roll(N), F.cross_entropy;
# - Spijkervet/SimCLR's NT_Xent module (MIT License): mask by torch.ones((N, N), dtype=bool)
#   .fill_diagonal_(0), nn.CosineSimilarity(dim=2) of z.unsqueeze(1) and z.unsqueeze(0),
#   torch.diag(sim, +-B), sim[self.mask].reshape(N, -1), CrossEntropyLoss(reduction="sum") / N;
# - sthalles/SimCLR's info_nce_loss (MIT License): labels (labels.unsqueeze(0) ==
#   labels.unsqueeze(1)).float(), similarity_matrix[~mask].view(...), positives by
#   labels.bool(), and its accuracy(output, target, topk=(1, 5)) with topk/t/eq/expand_as;
# - the LARS optimizer SimCLR trains with, as facebookresearch/barlowtwins writes it (MIT
#   License): an optim.Optimizer subclass with defaults, param_groups with their own flags,
#   @torch.no_grad() step, torch.norm, nested torch.where, self.state[p] momentum buffers;
# - sthalles' save_checkpoint({'epoch', 'arch', 'state_dict', 'optimizer'}) after each epoch,
#   here loaded back into a fresh model and LARS to resume (the LARS state round trip).
# The two augmented views are made with NumPy (shifts and noise) so both frameworks see the
# same ones. Only the import lines differ from the PyTorch program.
import os
import shutil
import tempfile

import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F

from _data import deterministic_state, digits


def nt_xent(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.T / temperature
    N = z1.size(0)
    mask = torch.eye(2 * N, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(mask, -9e15)
    labels = torch.arange(2 * N, device=z.device).roll(N)
    return F.cross_entropy(sim, labels)


class NT_Xent(nn.Module):
    def __init__(self, batch_size, temperature, world_size):
        super(NT_Xent, self).__init__()
        self.batch_size = batch_size
        self.temperature = temperature
        self.world_size = world_size

        self.mask = self.mask_correlated_samples(batch_size, world_size)
        self.criterion = nn.CrossEntropyLoss(reduction="sum")
        self.similarity_f = nn.CosineSimilarity(dim=2)

    def mask_correlated_samples(self, batch_size, world_size):
        N = 2 * batch_size * world_size
        mask = torch.ones((N, N), dtype=bool)
        mask = mask.fill_diagonal_(0)
        for i in range(batch_size * world_size):
            mask[i, batch_size * world_size + i] = 0
            mask[batch_size * world_size + i, i] = 0
        return mask

    def forward(self, z_i, z_j):
        N = 2 * self.batch_size * self.world_size

        z = torch.cat((z_i, z_j), dim=0)

        sim = self.similarity_f(z.unsqueeze(1), z.unsqueeze(0)) / self.temperature

        sim_i_j = torch.diag(sim, self.batch_size * self.world_size)
        sim_j_i = torch.diag(sim, -self.batch_size * self.world_size)

        positive_samples = torch.cat((sim_i_j, sim_j_i), dim=0).reshape(N, 1)
        negative_samples = sim[self.mask].reshape(N, -1)

        labels = torch.zeros(N).to(positive_samples.device).long()
        logits = torch.cat((positive_samples, negative_samples), dim=1)
        loss = self.criterion(logits, labels)
        loss /= N
        return loss


def info_nce_loss(features, batch_size, n_views=2, temperature=0.5, device="cpu"):
    labels = torch.cat([torch.arange(batch_size) for i in range(n_views)], dim=0)
    labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
    labels = labels.to(device)

    features = F.normalize(features, dim=1)

    similarity_matrix = torch.matmul(features, features.T)

    # discard the main diagonal from both: the labels and similarities matrix
    mask = torch.eye(labels.shape[0], dtype=torch.bool).to(device)
    labels = labels[~mask].view(labels.shape[0], -1)
    similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)

    # select and combine multiple positives
    positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)

    # select only the negatives
    negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)

    logits = torch.cat([positives, negatives], dim=1)
    labels = torch.zeros(logits.shape[0], dtype=torch.long).to(device)

    logits = logits / temperature
    return logits, labels


def accuracy(output, target, topk=(1,)):
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


class SimCLR(nn.Module):
    def __init__(self, projection_dim=16, n_features=32):
        super(SimCLR, self).__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((2, 2)),
            nn.Flatten(),
            nn.Linear(64, n_features),
        )
        self.n_features = n_features
        self.projector = nn.Sequential(
            nn.Linear(self.n_features, self.n_features, bias=False),
            nn.ReLU(),
            nn.Linear(self.n_features, projection_dim, bias=False),
        )

    def forward(self, x_i, x_j):
        h_i = self.encoder(x_i)
        h_j = self.encoder(x_j)

        z_i = self.projector(h_i)
        z_j = self.projector(h_j)
        return h_i, h_j, z_i, z_j


class LARS(torch.optim.Optimizer):
    def __init__(
        self,
        params,
        lr,
        weight_decay=0,
        momentum=0.9,
        eta=0.001,
        weight_decay_filter=False,
        lars_adaptation_filter=False,
    ):
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            eta=eta,
            weight_decay_filter=weight_decay_filter,
            lars_adaptation_filter=lars_adaptation_filter,
        )
        super().__init__(params, defaults)

    def exclude_bias_and_norm(self, p):
        return p.ndim == 1

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                dp = p.grad

                if dp is None:
                    continue

                if not g["weight_decay_filter"] or not self.exclude_bias_and_norm(p):
                    dp = dp.add(p, alpha=g["weight_decay"])

                if not g["lars_adaptation_filter"] or not self.exclude_bias_and_norm(p):
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(
                        param_norm > 0.0,
                        torch.where(update_norm > 0, (g["eta"] * param_norm / update_norm), one),
                        one,
                    )
                    dp = dp.mul(q)

                param_state = self.state[p]
                if "mu" not in param_state:
                    param_state["mu"] = torch.zeros_like(p)
                mu = param_state["mu"]
                mu.mul_(g["momentum"]).add_(dp)

                p.add_(mu, alpha=-g["lr"])


def save_checkpoint(state, is_best, filename="checkpoint.pth.tar"):
    torch.save(state, filename)
    if is_best:
        shutil.copyfile(filename, os.path.join(os.path.dirname(filename), "model_best.pth.tar"))


def augment(rng, x):
    shifts = rng.integers(-1, 2, size=(len(x), 2))
    out = np.stack([np.roll(img, tuple(s), axis=(1, 2)) for img, s in zip(x, shifts)])
    return (out + 0.1 * rng.standard_normal(out.shape)).astype(np.float32)


batch_size = 16
temperature = 0.5
device = torch.device("cpu")
rng = np.random.default_rng(2020)
images, _ = digits(batch_size * 10)

model = SimCLR().to(device)
model.load_state_dict(deterministic_state(model, torch, seed=13))
param_weights = []
param_biases = []
for param in model.parameters():
    if param.ndim == 1:
        param_biases.append(param)
    else:
        param_weights.append(param)
parameters = [{"params": param_weights}, {"params": param_biases}]
optimizer = LARS(
    parameters,
    lr=0.2,
    weight_decay=1e-6,
    weight_decay_filter=True,
    lars_adaptation_filter=True,
)
criterion = NT_Xent(batch_size, temperature, world_size=1)

losses = []
for epoch in range(2):
    model.train()
    for step in range(len(images) // batch_size):
        x = images[step * batch_size : (step + 1) * batch_size]
        x_i = torch.from_numpy(augment(rng, x)).to(device, non_blocking=True)
        x_j = torch.from_numpy(augment(rng, x)).to(device, non_blocking=True)

        optimizer.zero_grad()
        h_i, h_j, z_i, z_j = model(x_i, x_j)
        loss = nt_xent(z_i, z_j, temperature)
        loss.backward()
        optimizer.step()

        with torch.no_grad():
            loss_module = criterion(z_i, z_j)
            logits, labels = info_nce_loss(torch.cat([z_i, z_j]), batch_size)
            loss_nce = F.cross_entropy(logits, labels)
            top1, top5 = accuracy(logits, labels, topk=(1, 5))
        losses += [loss.item(), loss_module.item(), loss_nce.item()]
        if step % 5 == 0:
            print(f"Epoch {epoch} step {step}: loss {loss.item():.4f} top1 {top1[0]:.1f}")
    losses += [top1.item(), top5.item()]

    checkpoint_name = "checkpoint_{:04d}.pth.tar".format(epoch)
    with tempfile.TemporaryDirectory() as log_dir:
        filename = os.path.join(log_dir, checkpoint_name)
        save_checkpoint(
            {
                "epoch": epoch + 1,
                "arch": "small_cnn",
                "state_dict": model.state_dict(),
                "optimizer": optimizer.state_dict(),
            },
            is_best=True,
            filename=filename,
        )
        checkpoint = torch.load(filename)
    model = SimCLR().to(device)
    model.load_state_dict(checkpoint["state_dict"])
    param_weights = [p for p in model.parameters() if p.ndim != 1]
    param_biases = [p for p in model.parameters() if p.ndim == 1]
    parameters = [{"params": param_weights}, {"params": param_biases}]
    optimizer = LARS(
        parameters,
        lr=0.2,
        weight_decay=1e-6,
        weight_decay_filter=True,
        lars_adaptation_filter=True,
    )
    optimizer.load_state_dict(checkpoint["optimizer"])
    losses.append(float(checkpoint["epoch"]))
