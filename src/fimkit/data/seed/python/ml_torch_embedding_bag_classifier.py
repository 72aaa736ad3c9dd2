"""Bag-of-words text classifier built on nn.EmbeddingBag (fastText-style).

EmbeddingBag takes a flat 1-D tensor of token ids plus offsets marking where
each document starts, so a batch needs no padding at all and the mean of
the embeddings is computed in one fused kernel.
"""
import re
from collections import Counter

import torch
import torch.nn as nn

TOKEN_RE = re.compile(r"[a-z0-9']+")


def tokenize(text):
    return TOKEN_RE.findall(text.lower())


def build_vocab(texts, min_freq=1):
    counts = Counter(tok for t in texts for tok in tokenize(t))
    # id 0 is reserved for unknown words
    words = sorted(w for w, c in counts.items() if c >= min_freq)
    return {w: i + 1 for i, w in enumerate(words)}


def encode_batch(texts, vocab):
    """Return (flat_ids, offsets) suitable for EmbeddingBag."""
    ids, offsets = [], []
    for text in texts:
        offsets.append(len(ids))
        ids.extend(vocab.get(tok, 0) for tok in tokenize(text))
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


class BagClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_classes):
        super().__init__()
        # padding_idx=0: unknown words contribute nothing to the mean and
        # their embedding is never updated.
        self.embed = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=0)
        self.fc = nn.Linear(embed_dim, num_classes)
        nn.init.uniform_(self.embed.weight, -0.5, 0.5)
        with torch.no_grad():
            self.embed.weight[0].zero_()

    def forward(self, flat_ids, offsets):
        return self.fc(self.embed(flat_ids, offsets))


if __name__ == "__main__":
    torch.manual_seed(0)
    docs = ["great film, loved it", "terrible plot and awful acting",
            "loved the acting", "awful, just terrible", "a great great story"]
    labels = torch.tensor([1, 0, 1, 0, 1])
    vocab = build_vocab(docs)
    model = BagClassifier(len(vocab) + 1, embed_dim=16, num_classes=2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    ids, offs = encode_batch(docs, vocab)
    for _ in range(50):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(ids, offs), labels)
        loss.backward()
        opt.step()
    test_ids, test_offs = encode_batch(["loved it, great", "awful unseenword"], vocab)
    print(round(loss.item(), 4), model(test_ids, test_offs).argmax(1).tolist())
