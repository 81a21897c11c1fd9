"""The InceptionV3 that FID is published in: the 1008-class network ported from TensorFlow's inception-2015-12-05.

A port of pytorch-fid's `fid_inception_v3()` and its patched blocks (https://github.com/mseitzer/pytorch-fid,
src/pytorch_fid/inception.py, by Maximilian Seitzer, Apache License 2.0), built on torchvision's Inception3 as
pytorch-fid builds it. The state-dict keys are pytorch-fid's, so its weight file pt_inception-2015-12-05-6726825d.pth
loads with strict=True; nothing is downloaded here, the caller loads a local file. What differs from torchvision's
InceptionV3, all to match the TF graph: 1008 classes, no auxiliary classifier, average pools in the A, C and first
E blocks that leave the padding out of the mean, and a max pool in the last E block.

Input handling is pytorch-fid's too: images in [0, 1], resized to 299x299 (bilinear, align_corners=False), then
scaled to [-1, 1]. FID is computed from `features`, the 2048-d pool3 output; `forward` gives the 1008 logits the
Inception Score is computed from (without the fc bias, as the original Inception Score code takes them).
"""

import torch
import torch.nn.functional as F
from torchvision.models.inception import Inception3, InceptionA, InceptionC, InceptionE


class FIDInceptionA(InceptionA):
    """InceptionA with TF's average pool."""

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        # TF's average pool does not count the zero padding in its mean
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class FIDInceptionC(InceptionC):
    """InceptionC with TF's average pool."""

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            branch7x7dbl = conv(branch7x7dbl)
        # TF's average pool does not count the zero padding in its mean
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class FIDInceptionE1(InceptionE):
    """The first InceptionE (Mixed_7b), with TF's average pool."""

    def pool(self, x):
        # TF's average pool does not count the zero padding in its mean
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(self.pool(x))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class FIDInceptionE2(FIDInceptionE1):
    """The second InceptionE (Mixed_7c), with a max pool where the paper has an average pool: the TF graph the
    published numbers come from has it (likely a slip there, kept for comparable numbers)."""

    def pool(self, x):
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class FIDInceptionV3(Inception3):
    """pytorch-fid's FID InceptionV3: images in [0, 1] -> `features` (N, 2048) pool3, `forward` (N, 1008) logits."""

    num_features = 2048

    def __init__(self):
        # init_weights=False: the weights come from a file, so torchvision's slow truncated-normal init is wasted
        super().__init__(num_classes=1008, aux_logits=False, transform_input=False, init_weights=False)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7b = FIDInceptionE1(1280)
        self.Mixed_7c = FIDInceptionE2(2048)

    def features(self, x):
        """The 2048-d pool3 features FID is computed in, from (N, 3, H, W) images in [0, 1]."""
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1  # the TF weights expect [-1, 1]
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        """The 1008 class logits for the Inception Score: pool3 times the softmax weights without the bias, as the
        original Inception Score code (improved-GAN's `softmax/logits/MatMul`), torch-fidelity and torchmetrics
        take them; dropout is left out, as in evaluation."""
        return self.features(x) @ self.fc.weight.T
