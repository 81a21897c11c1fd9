"""The harness's built-in evaluation discriminators: `mlp`, `conv` and `timm:<architecture>`.

- `mlp[:depth]`: `depth` hidden layers (2 by default) of `width` units, LeakyReLU; items are flattened.
- `conv`: the DCGAN-style body of the zoo's players, `width` channels in its last layer, each earlier layer half
  the next's (images only). No batch norm, so its ensembles train batched (vmap).
- `timm:<architecture>`: any timm model, randomly initialised (nothing is downloaded), with the image's channels
  and one output; images smaller than 32 pixels are upsampled first. Its size is fixed by the architecture.
  Most use batch norm, so their ensembles train in a loop rather than batched.
"""


import torch.nn.functional as F
from torch import nn

from gan_zoo import hookimpl
from gan_zoo.discriminators import DiscriminatorClass
from gan_zoo.errors import UserError
from gan_zoo.nets import ConvNet, JoinInputs, Squeeze, mlp, upsampling_plan


def build_mlp(spec, code_dim, width, option):
    if option and not (option.isdigit() and 1 <= int(option) <= 64):
        raise UserError(f"discriminator mlp:{option}: the option is the number of hidden layers, 1 to 64, e.g. mlp:3")
    depth = int(option) if option else 2
    return Squeeze(JoinInputs(mlp(spec.dim + code_dim, 1, width, depth, activation=lambda: nn.LeakyReLU(0.2))))


def build_conv(spec, code_dim, width, option):
    if not spec.is_image:
        raise UserError(f"discriminator conv needs image data, not items of shape {spec.shape}; use mlp")
    # width is the last layer's channels, each earlier layer half the next's (rounded, at least 1): p moves in
    # steps of about 2 / width, fine enough for the 10% tolerance from p ~ 1e4 on 32x32x3, where counting the
    # first layer's channels (p ~ 680 width^2) jumped from 3029 to 11433
    _, doublings = upsampling_plan(spec.shape[-1])
    widths = [max(1, round(width / 2 ** (doublings - k))) for k in range(doublings + 1)]
    return Squeeze(ConvNet(spec.shape, widths, 1, code_dim, width))


class TimmScore(nn.Module):
    def __init__(self, model: nn.Module, size: int):
        super().__init__()
        self.model, self.size = model, size

    def forward(self, x):
        if x.shape[-1] < self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.model(x).squeeze(1)


def build_timm(spec, code_dim, width, option):
    import timm  # imported late: timm pulls in torchvision

    if not option:
        raise UserError("discriminator timm needs an architecture, e.g. timm:test_resnet or timm:resnet18")
    if not spec.is_image or code_dim:
        raise UserError(f"discriminator timm:{option} scores images only (no vectors, no (x, code) pairs); use mlp")
    try:
        model = timm.create_model(option, pretrained=False, num_classes=1, in_chans=spec.shape[0])
    except RuntimeError as exc:  # timm's "Unknown model"
        raise UserError(f"discriminator timm:{option}: {exc}; `python -c 'import timm; print(timm.list_models())'` "
                        f"lists the architectures") from None
    return TimmScore(model, max(32, spec.shape[-1]))


@hookimpl
def register_discriminators(register):
    register(DiscriminatorClass("mlp", "MLP, mlp:DEPTH hidden layers (2) of `width` units", build_mlp))
    register(DiscriminatorClass("conv", "DCGAN-style convolutional net, `width` channels last", build_conv,
                                max_width=4096))
    register(DiscriminatorClass("timm", "timm:ARCH, any timm architecture, randomly initialised", build_timm,
                                fixed_capacity=True))


