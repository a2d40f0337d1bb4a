"""Train a small CNN on the UCI handwritten digits (8x8 images that ship inside scikit-learn).

Run: ``make demo`` (or ``python examples/digits_cnn.py``). Trains for a few
epochs with Adam and a progress bar, prints the test accuracy, saves a
checkpoint (safetensors + JSON), reloads it into a fresh model and checks that
the reloaded model scores the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from tqdm import tqdm

import ember as em
import ember.nn as nn
import ember.nn.functional as F
from ember.data import DataLoader, datasets


def make_model() -> nn.Module:
    """Two 3x3 convolutions, a 2x2 max-pool and two dense layers: about 40k parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(64, 10),
    )


@em.no_grad()
def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    for x, y in loader:
        correct += int((model(x).argmax(dim=1) == y).sum().item())
        total += len(y)
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=os.path.join(tempfile.gettempdir(), "ember_digits_cnn.safetensors"))
    args = parser.parse_args()

    em.manual_seed(args.seed)
    train_set, test_set = datasets.digits(train=True), datasets.digits(train=False)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    print(f"digits: {len(train_set)} training and {len(test_set)} test images of 8x8")

    model = make_model()
    optimizer = em.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = em.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters\n{model}")

    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        # on a terminal the bar moves; in a log (CI) it prints once per epoch
        bar = tqdm(
            train_loader,
            desc=f"epoch {epoch + 1:2d}/{args.epochs}",
            unit="batch",
            ncols=90,
            mininterval=0.2,
            miniters=1 if sys.stderr.isatty() else len(train_loader),
        )
        running = 0.0
        for i, (x, y) in enumerate(bar, 1):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / i:.4f}", refresh=False)
        scheduler.step()
    train_time = time.perf_counter() - start
    test_acc = accuracy(model, test_loader)
    print(f"trained {args.epochs} epochs in {train_time:.1f} s; test accuracy {test_acc:.2%}")

    em.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": args.epochs}, args.checkpoint)
    restored = make_model()
    restored.load_state_dict(em.load(args.checkpoint)["model"])
    restored_acc = accuracy(restored, test_loader)
    print(f"checkpoint {args.checkpoint} reloaded into a fresh model: test accuracy {restored_acc:.2%}")
    if restored_acc != test_acc:
        raise SystemExit("the reloaded model does not score the same as the trained one")
    if test_acc < 0.97:
        raise SystemExit(f"test accuracy {test_acc:.2%} is below the expected 97%")


if __name__ == "__main__":
    main()
