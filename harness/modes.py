"""Mode coverage for data with known modes (PacGAN's protocol, REFERENCE section 2).

A sample is high quality when it lies within 3 std of its nearest mode; a mode is captured when it is the
nearest mode of at least one high-quality sample; reverse KL is KL(generated mode histogram || uniform),
over the high-quality samples (None when there are none).
"""

import torch


def mode_coverage(samples: torch.Tensor, centres: torch.Tensor, std: float) -> dict:
    samples = samples.reshape(len(samples), -1).double()
    distances = torch.cdist(samples, centres.double())
    nearest_distance, nearest = distances.min(dim=1)
    high_quality = nearest_distance <= 3 * std
    counts = torch.bincount(nearest[high_quality], minlength=len(centres)).double()
    total = counts.sum().item()
    if total:
        p = counts[counts > 0] / total
        reverse_kl = float((p * (p * len(centres)).log()).sum())
    else:
        reverse_kl = None  # no high-quality sample: the histogram is undefined
    return {"modes_captured": int((counts > 0).sum()), "n_modes": len(centres),
            "high_quality_fraction": high_quality.double().mean().item(), "reverse_kl": reverse_kl,
            "n_samples": len(samples), "per_mode_counts": counts.long().tolist()}
