"""Train the inspection classifier on synthetic frames and export ``model.onnx``.

    .venv/bin/pip install torch==2.13.0 onnxscript   # training only, not a runtime dependency
    .venv/bin/python -m qualitas.edge_adapters.vision.train [--train 12000] [--epochs 10] [--seed 7]

The frames come from :mod:`qualitas.edge_adapters.vision.generator` (nothing is
downloaded). The network is deliberately tiny (four strided convolutions, about 20 k
weights) so that one 64x64 frame runs well under 8.3 ms (120 fps) on one CPU core.
Input normalisation is part of the exported graph: the runtime only scales uint8
pixels to [0, 1]. The script prints F1 on a held-out set evaluated with
onnxruntime, i.e. with the exact artifact that is committed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from qualitas.edge_adapters.vision.generator import CLASSES, SIZE, generate

HERE = Path(__file__).parent
MODEL_FILE = HERE / "model.onnx"


def build_model():  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()

            def block(cin: int, cout: int) -> nn.Sequential:
                return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU())

            self.features = nn.Sequential(block(1, 12), block(12, 24), block(24, 32), block(32, 48))
            self.head = nn.Linear(48, len(CLASSES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = (x - 0.45) / 0.25
            x = self.features(x)
            x = torch.amax(x, dim=(2, 3))  # global max pool: small defects stay visible
            return torch.softmax(self.head(x), dim=1)

    return Net()


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=12000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    x_train, y_train = generate(args.train, seed=args.seed)
    x_test, y_test = generate(args.test, seed=args.seed + 1000)
    print(f"generated {args.train}+{args.test} frames in {time.perf_counter() - t0:.1f}s")

    xt = torch.from_numpy(x_train).float().div(255).unsqueeze(1)
    yt = torch.from_numpy(y_train)
    model = build_model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = args.epochs * ((len(xt) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    loss_fn = torch.nn.NLLLoss()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xt))
        total = 0.0
        for i in range(0, len(xt), 128):
            idx = perm[i : i + 128]
            xb = xt[idx]
            if epoch % 2:  # flips are label-preserving for both processes
                xb = torch.flip(xb, dims=(3,)) if i % 256 else torch.flip(xb, dims=(2,))
            probs = model(xb)
            loss = loss_fn(torch.log(probs + 1e-7), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / len(xt):.4f} ({time.perf_counter() - t0:.0f}s)")

    model.eval()
    dummy = torch.zeros(1, 1, SIZE, SIZE)
    torch.onnx.export(
        model,
        (dummy,),
        str(args.out),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=18,
        external_data=False,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")

    from qualitas.edge_adapters.vision.inference import VisionInspector, f1_scores

    inspector = VisionInspector(args.out)
    predicted = np.array([r.label_index for r in inspector.inspect_many(x_test)])
    scores = f1_scores(y_test, predicted)
    print(f"held-out F1: defect {scores.defect_f1:.4f}, macro {scores.macro_f1:.4f}, accuracy {scores.accuracy:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
