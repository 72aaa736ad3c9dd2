"""Collate variable-length token sequences into a padded batch.

Returns the lengths and a boolean padding mask alongside the ids, because
every consumer needs at least one of them: attention needs the mask, packed
RNNs need the lengths, and losses must ignore padded positions.
"""
from typing import Dict, List, Sequence, Tuple

import torch
from torch.nn.utils.rnn import pad_sequence

PAD_ID = 0
IGNORE_INDEX = -100  # the default ignore_index of nn.CrossEntropyLoss


def pad_collate(
    batch: Sequence[Tuple[List[int], int]], max_len: int = 512
) -> Dict[str, torch.Tensor]:
    """batch: list of (token_ids, label) pairs as returned by a Dataset."""
    seqs = [torch.tensor(ids[:max_len], dtype=torch.long) for ids, _ in batch]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    input_ids = pad_sequence(seqs, batch_first=True, padding_value=PAD_ID)
    # Derive the mask from lengths, not from input_ids == PAD_ID: a real
    # token could legitimately share the pad id.
    positions = torch.arange(input_ids.size(1))
    padding_mask = positions[None, :] >= lengths[:, None]
    labels = torch.tensor([label for _, label in batch], dtype=torch.long)
    return {"input_ids": input_ids, "lengths": lengths,
            "padding_mask": padding_mask, "labels": labels}


def lm_targets(input_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Next-token targets for language modelling, with padding ignored."""
    targets = input_ids.roll(-1, dims=1)
    targets[:, -1] = IGNORE_INDEX
    # The target at position t is token t+1, so it is invalid when t+1 is padding.
    shifted_mask = padding_mask.roll(-1, dims=1)
    shifted_mask[:, -1] = True
    return targets.masked_fill(shifted_mask, IGNORE_INDEX)


if __name__ == "__main__":
    from torch.utils.data import DataLoader

    examples = [([5, 6, 7, 8], 1), ([9, 3], 0), ([4, 4, 2], 1)]
    loader = DataLoader(examples, batch_size=3, collate_fn=pad_collate)
    out = next(iter(loader))
    for key, value in out.items():
        print(key, value.tolist())
    print(lm_targets(out["input_ids"], out["padding_mask"]).tolist())
