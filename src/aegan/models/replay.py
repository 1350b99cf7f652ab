"""Experience replay for GANs (Géron, 2nd ed., chapter 17's exercise on mode collapse): part of
each fake batch the discriminator sees is drawn from a buffer of earlier fakes.

The buffer is three buffers of the model (``replay_images``, ``replay_labels`` and
``replay_count``), so a checkpoint holds it and resume is exact."""

from __future__ import annotations

import torch


def replayed(model, fake: torch.Tensor, labels: torch.Tensor | None):
    """``(fakes, labels)`` for the discriminator. While the buffer fills, its first fakes are
    kept and the batch passes unchanged; once it is full, a ``replay_fraction`` of the batch is
    swapped for old fakes drawn from it, and the new fakes replace random old ones."""
    size, n = model.config.replay, len(fake)
    labels = torch.zeros(n, dtype=torch.long, device=fake.device) if labels is None else labels
    count = int(model.replay_count)
    if count < size:
        k = min(n, size - count)
        model.replay_images[count:count + k] = fake[:k].detach()
        model.replay_labels[count:count + k] = labels[:k]
        model.replay_count += k
        return fake, (labels if model.num_classes else None)
    k = int(round(model.config.replay_fraction * n))
    old = torch.randint(size, (k,), device=fake.device)
    mixed = torch.cat([model.replay_images[old], fake[k:]])  # [n, *shape]
    mixed_labels = torch.cat([model.replay_labels[old], labels[k:]])
    slots = torch.randperm(size, device=fake.device)[:n]
    model.replay_images[slots] = fake[:len(slots)].detach()
    model.replay_labels[slots] = labels[:len(slots)]
    return mixed, (mixed_labels if model.num_classes else None)
