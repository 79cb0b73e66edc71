# A small Vision Transformer classifier in the style of the common PyTorch ViT tutorials
# (after Dosovitskiy et al. 2020, as written in e.g. lucidrains/vit-pytorch, MIT License, and
# timm's VisionTransformer, Apache-2.0): the same idioms (PatchEmbed as Conv2d(kernel_size=
# patch, stride=patch) then .flatten(2).transpose(1, 2); cls token nn.Parameter(torch.zeros(1,
# 1, dim)) .expand(B, -1, -1) and torch.cat; a learned pos_embed Parameter with
# nn.init.trunc_normal_(std=.02); nn.TransformerEncoder of nn.TransformerEncoderLayer(
# batch_first=True, norm_first=True, activation="gelu"); LayerNorm and a head on x[:, 0];
# CrossEntropyLoss(label_smoothing=0.1), AdamW + CosineAnnealingLR stepped per batch,
# clip_grad_norm_, an eval loop with argmax accuracy), written for this test at a tiny size on
# the bundled digits. Only the import lines differ from the PyTorch program.
import glassnet as torch
import glassnet.nn as nn
from glassnet.optim.lr_scheduler import CosineAnnealingLR
from glassnet.utils.data import DataLoader, TensorDataset

from _data import deterministic_state, digits


class PatchEmbed(nn.Module):
    def __init__(self, img_size=8, patch_size=2, in_chans=1, embed_dim=32):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        x = self.proj(x)  # (B, E, H/P, W/P)
        x = x.flatten(2)  # (B, E, N)
        x = x.transpose(1, 2)  # (B, N, E)
        return x


class ViT(nn.Module):
    def __init__(
        self,
        img_size=8,
        patch_size=2,
        in_chans=1,
        num_classes=10,
        dim=32,
        depth=2,
        heads=4,
        mlp_dim=64,
        dropout=0.0,
    ):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
        self.pos_drop = nn.Dropout(p=dropout)
        encoder_layer = nn.TransformerEncoderLayer(
            d_model=dim,
            nhead=heads,
            dim_feedforward=mlp_dim,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(encoder_layer, num_layers=depth)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, x):
        B = x.shape[0]
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.pos_embed
        x = self.pos_drop(x)
        x = self.encoder(x)
        x = self.norm(x)
        return self.head(x[:, 0])


device = "cuda" if torch.cuda.is_available() else "cpu"
images, labels = digits(384)
train_ds = TensorDataset(torch.tensor(images[:320]), torch.tensor(labels[:320]))
test_ds = TensorDataset(torch.tensor(images[320:]), torch.tensor(labels[320:]))
train_loader = DataLoader(train_ds, batch_size=32, shuffle=False)
test_loader = DataLoader(test_ds, batch_size=64)

epochs = 2
model = ViT().to(device)
model.load_state_dict(deterministic_state(model, torch, seed=21))
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
scheduler = CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))

losses = []
for epoch in range(epochs):
    model.train()
    running_loss = 0.0
    for images_b, labels_b in train_loader:
        images_b, labels_b = images_b.to(device), labels_b.to(device)
        optimizer.zero_grad()
        outputs = model(images_b)
        loss = criterion(outputs, labels_b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        running_loss += loss.item() * images_b.size(0)
        losses.append(loss.item())
    epoch_loss = running_loss / len(train_loader.dataset)

    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images_b, labels_b in test_loader:
            images_b, labels_b = images_b.to(device), labels_b.to(device)
            outputs = model(images_b)
            _, predicted = outputs.max(1)
            total += labels_b.size(0)
            correct += predicted.eq(labels_b).sum().item()
    lr_now = scheduler.get_last_lr()[0]
    acc = 100.0 * correct / total
    print(f"Epoch {epoch + 1}: loss {epoch_loss:.4f}, acc {acc:.2f}%, lr {lr_now:.6f}")
    losses += [epoch_loss, correct / total, lr_now]
