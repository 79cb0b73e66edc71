# A tiny denoising diffusion model (DDPM, Ho et al. 2020) in the style of "The Annotated
# Diffusion Model" (Hugging Face blog, after lucidrains/denoising-diffusion-pytorch, MIT
# License): the same idioms (SinusoidalPositionEmbeddings with torch.exp(torch.arange(half) *
# -(math.log(10000) / (half - 1))) and torch.cat((sin, cos), dim=-1); WeightStandardizedConv2d
# subclassing nn.Conv2d with torch.var(unbiased=False) and rsqrt; Block = conv + GroupNorm +
# scale/shift + SiLU; ResnetBlock with a time MLP and chunk(2, dim=1); Downsample/Upsample
# with nn.Upsample(scale_factor=2, mode="nearest"); U-Net skips by torch.cat; beta schedule by
# torch.linspace, alphas_cumprod by torch.cumprod, F.pad(..., (1, 0), value=1.0),
# extract(a, t, x_shape) = a.gather(-1, t).reshape(b, *((1,) * (len(x_shape) - 1))),
# q_sample, p_losses with F.mse_loss, @torch.no_grad() p_sample / p_sample_loop), written for
# this test at a tiny size on the bundled digits. The weights are averaged for sampling by
# torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn (PyTorch's EMA recipe, as
# lucidrains' trainer keeps an EMA model). The timesteps and the noise are drawn with
# NumPy and handed in (the frameworks' random streams differ), where the original calls
# torch.randint / torch.randn_like. Only the import lines differ from the PyTorch program.
import math

import numpy as np

import glassnet as torch
import glassnet.nn.functional as F
from glassnet import nn
from glassnet.optim import Adam
from glassnet.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from _data import deterministic_state, digits


class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, *args, **kwargs):
        return self.fn(x, *args, **kwargs) + x


def Upsample(dim, dim_out=None):
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(dim, dim_out if dim_out is not None else dim, 3, padding=1),
    )


def Downsample(dim, dim_out=None):
    return nn.Conv2d(dim, dim_out if dim_out is not None else dim, 4, 2, 1)


class SinusoidalPositionEmbeddings(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        device = time.device
        half_dim = self.dim // 2
        embeddings = math.log(10000) / (half_dim - 1)
        embeddings = torch.exp(torch.arange(half_dim, device=device) * -embeddings)
        embeddings = time[:, None] * embeddings[None, :]
        embeddings = torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)
        return embeddings


class WeightStandardizedConv2d(nn.Conv2d):
    def forward(self, x):
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3

        weight = self.weight
        mean = weight.mean(dim=(1, 2, 3), keepdim=True)
        var = torch.var(weight, dim=(1, 2, 3), keepdim=True, unbiased=False)
        normalized_weight = (weight - mean) * (var + eps).rsqrt()

        return F.conv2d(
            x,
            normalized_weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class Block(nn.Module):
    def __init__(self, dim, dim_out, groups=4):
        super().__init__()
        self.proj = WeightStandardizedConv2d(dim, dim_out, 3, padding=1)
        self.norm = nn.GroupNorm(groups, dim_out)
        self.act = nn.SiLU()

    def forward(self, x, scale_shift=None):
        x = self.proj(x)
        x = self.norm(x)

        if scale_shift is not None:
            scale, shift = scale_shift
            x = x * (scale + 1) + shift

        x = self.act(x)
        return x


class ResnetBlock(nn.Module):
    def __init__(self, dim, dim_out, *, time_emb_dim=None, groups=4):
        super().__init__()
        self.mlp = (
            nn.Sequential(nn.SiLU(), nn.Linear(time_emb_dim, dim_out * 2))
            if time_emb_dim is not None
            else None
        )

        self.block1 = Block(dim, dim_out, groups=groups)
        self.block2 = Block(dim_out, dim_out, groups=groups)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, time_emb=None):
        scale_shift = None
        if self.mlp is not None and time_emb is not None:
            time_emb = self.mlp(time_emb)
            time_emb = time_emb[:, :, None, None]
            scale_shift = time_emb.chunk(2, dim=1)

        h = self.block1(x, scale_shift=scale_shift)
        h = self.block2(h)
        return h + self.res_conv(x)


class Unet(nn.Module):
    def __init__(self, dim=8, channels=1, dim_mults=(1, 2), resnet_block_groups=4):
        super().__init__()
        self.channels = channels
        self.init_conv = nn.Conv2d(channels, dim, 1, padding=0)
        dims = [dim, *map(lambda m: dim * m, dim_mults)]
        in_out = list(zip(dims[:-1], dims[1:]))

        time_dim = dim * 4
        self.time_mlp = nn.Sequential(
            SinusoidalPositionEmbeddings(dim),
            nn.Linear(dim, time_dim),
            nn.GELU(),
            nn.Linear(time_dim, time_dim),
        )

        self.downs = nn.ModuleList([])
        self.ups = nn.ModuleList([])
        num_resolutions = len(in_out)

        for ind, (dim_in, dim_out) in enumerate(in_out):
            is_last = ind >= (num_resolutions - 1)
            self.downs.append(
                nn.ModuleList(
                    [
                        ResnetBlock(dim_in, dim_in, time_emb_dim=time_dim),
                        Downsample(dim_in, dim_out)
                        if not is_last
                        else nn.Conv2d(dim_in, dim_out, 3, padding=1),
                    ]
                )
            )

        mid_dim = dims[-1]
        self.mid_block1 = ResnetBlock(mid_dim, mid_dim, time_emb_dim=time_dim)
        self.mid_block2 = ResnetBlock(mid_dim, mid_dim, time_emb_dim=time_dim)

        for ind, (dim_in, dim_out) in enumerate(reversed(in_out)):
            is_last = ind == (len(in_out) - 1)
            self.ups.append(
                nn.ModuleList(
                    [
                        ResnetBlock(dim_out + dim_in, dim_out, time_emb_dim=time_dim),
                        Upsample(dim_out, dim_in)
                        if not is_last
                        else nn.Conv2d(dim_out, dim_in, 3, padding=1),
                    ]
                )
            )

        self.final_res_block = ResnetBlock(dim * 2, dim, time_emb_dim=time_dim)
        self.final_conv = nn.Conv2d(dim, channels, 1)

    def forward(self, x, time):
        x = self.init_conv(x)
        r = x.clone()

        t = self.time_mlp(time)

        h = []

        for block1, downsample in self.downs:
            x = block1(x, t)
            h.append(x)
            x = downsample(x)

        x = self.mid_block1(x, t)
        x = self.mid_block2(x, t)

        for block1, upsample in self.ups:
            x = torch.cat((x, h.pop()), dim=1)
            x = block1(x, t)
            x = upsample(x)

        x = torch.cat((x, r), dim=1)

        x = self.final_res_block(x, t)
        return self.final_conv(x)


def linear_beta_schedule(timesteps):
    beta_start = 0.0001
    beta_end = 0.02
    return torch.linspace(beta_start, beta_end, timesteps)


timesteps = 50

# define beta schedule
betas = linear_beta_schedule(timesteps=timesteps)

# define alphas
alphas = 1.0 - betas
alphas_cumprod = torch.cumprod(alphas, axis=0)
alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
sqrt_recip_alphas = torch.sqrt(1.0 / alphas)

# calculations for diffusion q(x_t | x_{t-1}) and others
sqrt_alphas_cumprod = torch.sqrt(alphas_cumprod)
sqrt_one_minus_alphas_cumprod = torch.sqrt(1.0 - alphas_cumprod)

# calculations for posterior q(x_{t-1} | x_t, x_0)
posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)


def extract(a, t, x_shape):
    batch_size = t.shape[0]
    out = a.gather(-1, t.cpu())
    return out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)


# forward diffusion (using the nice property)
def q_sample(x_start, t, noise=None):
    if noise is None:
        noise = torch.randn_like(x_start)

    sqrt_alphas_cumprod_t = extract(sqrt_alphas_cumprod, t, x_start.shape)
    sqrt_one_minus_alphas_cumprod_t = extract(sqrt_one_minus_alphas_cumprod, t, x_start.shape)

    return sqrt_alphas_cumprod_t * x_start + sqrt_one_minus_alphas_cumprod_t * noise


def p_losses(denoise_model, x_start, t, noise=None, loss_type="l2"):
    if noise is None:
        noise = torch.randn_like(x_start)

    x_noisy = q_sample(x_start=x_start, t=t, noise=noise)
    predicted_noise = denoise_model(x_noisy, t)

    if loss_type == "l1":
        loss = F.l1_loss(noise, predicted_noise)
    elif loss_type == "l2":
        loss = F.mse_loss(noise, predicted_noise)
    elif loss_type == "huber":
        loss = F.smooth_l1_loss(noise, predicted_noise)
    else:
        raise NotImplementedError()

    return loss


@torch.no_grad()
def p_sample(model, x, t, t_index, noise):
    betas_t = extract(betas, t, x.shape)
    sqrt_one_minus_alphas_cumprod_t = extract(sqrt_one_minus_alphas_cumprod, t, x.shape)
    sqrt_recip_alphas_t = extract(sqrt_recip_alphas, t, x.shape)

    # Equation 11 in the paper
    # Use our model (noise predictor) to predict the mean
    model_mean = sqrt_recip_alphas_t * (x - betas_t * model(x, t) / sqrt_one_minus_alphas_cumprod_t)

    if t_index == 0:
        return model_mean
    else:
        posterior_variance_t = extract(posterior_variance, t, x.shape)
        # Algorithm 2 line 4:
        return model_mean + torch.sqrt(posterior_variance_t) * noise


# Algorithm 2 (including returning all images)
@torch.no_grad()
def p_sample_loop(model, shape):
    device = next(model.parameters()).device

    b = shape[0]
    # start from pure noise (for each example in the batch)
    img = torch.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(device)
    imgs = []

    for i in reversed(range(0, timesteps)):
        noise = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        t = torch.full((b,), i, device=device, dtype=torch.long)
        img = p_sample(model, img, t, i, noise)
        imgs.append(img.cpu().numpy())
    return imgs


device = "cuda" if torch.cuda.is_available() else "cpu"
rng = np.random.default_rng(2020)
images, _ = digits(256)
dataset = images * 2.0 - 1.0  # to [-1, 1], as the blog's Lambda(lambda t: (t * 2) - 1)
batch_size = 32
image_size = 8
channels = 1

model = Unet(dim=8, channels=channels, dim_mults=(1, 2))
model.to(device)
model.load_state_dict(deterministic_state(model, torch, seed=7))

optimizer = Adam(model.parameters(), lr=1e-3)
ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))

losses = [alphas_cumprod[-1].item(), posterior_variance[1:].sum().item()]
epochs = 2
for epoch in range(epochs):
    for step in range(len(dataset) // batch_size):
        optimizer.zero_grad()

        batch = torch.from_numpy(dataset[step * batch_size : (step + 1) * batch_size])
        batch_size = batch.shape[0]
        batch = batch.to(device)

        # Algorithm 1 line 3: sample t uniformally for every example in the batch
        t = torch.from_numpy(rng.integers(0, timesteps, size=(batch_size,))).to(device).long()
        noise = torch.from_numpy(rng.standard_normal(batch.shape).astype(np.float32))

        loss = p_losses(model, batch, t, noise=noise, loss_type="l2")

        if step % 4 == 0:
            print("Loss:", loss.item())

        loss.backward()
        optimizer.step()
        ema_model.update_parameters(model)
        losses.append(loss.item())

samples = p_sample_loop(ema_model, shape=(4, channels, image_size, image_size))
losses += [float(np.mean(samples[-1])), float(np.std(samples[-1]))]
