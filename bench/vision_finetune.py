"""Figures: per-plant fine-tuning on plant B, and the drift watch ahead of F1 (issue 19).

    nice -n 10 .venv/bin/python bench/vision_finetune.py [--images 500] [--held-out 2000] [--epochs 40]

1. Writes ``--images`` labelled plant-B frames (PNG + labels.csv, as a plant's labelling
   tool would) and runs ``qualitas edge vision finetune`` on them: the default method
   (frozen backbone, trained head and camera response curve) and ``--unfreeze 1``.
   20 % of the images are the validation split; the rest are trained on.
2. Scores the base and each tuned model on ``--held-out`` fresh plant-B frames that
   neither saw (another generator seed), with onnxruntime on the exported files, and
   on plant-A frames (the tuned model must not have forgotten the base plant).
3. Drift before F1: plant B's shift applied at 0 % ... 100 % strength; for each, the
   drift watch's max PSI (200 frames against the base model's training frames) and the
   base model's macro F1 on those frames.

Writes ``bench/out/vision_finetune.json`` and prints the table. Everything is generated
from fixed seeds, so a rerun gives the same numbers (to PyTorch's CPU determinism).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qualitas.edge_adapters.vision.drift import DriftReference, compare, frame_features
from qualitas.edge_adapters.vision.finetune import FinetuneReport, embed, write_labelled
from qualitas.edge_adapters.vision.generator import PLANT_B, generate, generate_plant
from qualitas.edge_adapters.vision.inference import MODEL_FILE, f1_scores

OUT = Path(__file__).parent / "out"


def _scores(model: Path, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    s = f1_scores(labels, embed(model, images).argmax(axis=1))
    return {"defect_f1": round(s.defect_f1, 4), "macro_f1": round(s.macro_f1, 4), "accuracy": round(s.accuracy, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--held-out", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="qualitas-plantb-"))
    images, labels = generate_plant(args.images, seed=args.seed)
    write_labelled(work / "images", images, labels)
    held_x, held_y = generate_plant(args.held_out, seed=args.seed + 1)
    plant_a_x, plant_a_y = generate(args.held_out, seed=args.seed + 2)

    result: dict[str, object] = {
        "plant_b_profile": {k: v for k, v in PLANT_B.__dict__.items()},
        "labelled_images": args.images,
        "held_out_images": args.held_out,
        "base": {"plant_b": _scores(MODEL_FILE, held_x, held_y), "plant_a": _scores(MODEL_FILE, plant_a_x, plant_a_y)},
        "variants": {},
    }
    for name, extra in (("head+curve", []), ("head+curve+last block", ["--unfreeze", "1"])):
        out = work / name.replace("+", "_").replace(" ", "_")
        t0 = time.perf_counter()
        cmd = [
            sys.executable, "-m", "qualitas.cli", "edge", "vision", "finetune",
            "--images", str(work / "images"), "--labels", str(work / "images" / "labels.csv"),
            "--base", str(MODEL_FILE), "--out", str(out), "--epochs", str(args.epochs), "--threads", "2", *extra,
        ]  # fmt: skip
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if not (out / "record.json").exists():
            print(run.stdout, run.stderr)
            return 1
        report = FinetuneReport.read(out)
        result["variants"][name] = {  # type: ignore[index]
            "accepted": report.accepted,
            "exit_code": run.returncode,
            "train_images": report.train_images,
            "validation_images": report.validation_images,
            "validation": {"base_macro_f1": report.base.macro_f1, "tuned_macro_f1": report.tuned.macro_f1},
            "held_out_plant_b": _scores(out / "model.onnx", held_x, held_y),
            "plant_a": _scores(out / "model.onnx", plant_a_x, plant_a_y),
            "seconds": round(seconds, 1),
            "train_sha256": report.train_sha256,
            "validation_sha256": report.validation_sha256,
        }

    ref_x, _ = generate(400, seed=7)
    reference = DriftReference.from_features(frame_features(ref_x, embed(MODEL_FILE, ref_x)))
    ramp = []
    for k in (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0):
        plant = replace(
            PLANT_B,
            gain=1 - (1 - PLANT_B.gain) * k,
            gradient=PLANT_B.gradient * k,
            gamma=1 + (PLANT_B.gamma - 1) * k,
            knee=1 - (1 - PLANT_B.knee) * k,
            vibration_px=(1, 1 + round((PLANT_B.vibration_px[1] - 1) * k)),
            dust=(0, round(PLANT_B.dust[1] * k)),
            noise_sigma=PLANT_B.noise_sigma * k,
        )
        x, y = generate_plant(300, seed=args.seed + 3, plant=plant)
        probs = embed(MODEL_FILE, x)
        check = compare(reference, frame_features(x, probs))
        ramp.append(
            {
                "shift": k,
                "max_psi": round(check.max_psi, 3),
                "alarm": check.drifted,
                "base_macro_f1": round(f1_scores(y, probs.argmax(axis=1)).macro_f1, 4),
            }
        )
    result["drift_ramp"] = ramp
    result["machine"] = f"{platform.node()} ({platform.processor() or platform.machine()}), shared, nice 10"
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    OUT.mkdir(exist_ok=True)
    (OUT / "vision_finetune.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    base = result["base"]["plant_b"]  # type: ignore[index]
    print(
        f"plant-B held-out ({args.held_out} frames): base macro F1 {base['macro_f1']:.3f}, "
        f"defect F1 {base['defect_f1']:.3f}"
    )
    for name, v in result["variants"].items():  # type: ignore[attr-defined]
        hb = v["held_out_plant_b"]
        print(
            f"  {name:<24} {v['train_images']}+{v['validation_images']} images: macro F1 {hb['macro_f1']:.3f}, "
            f"defect F1 {hb['defect_f1']:.3f}; plant A macro F1 {v['plant_a']['macro_f1']:.3f} "
            f"(base {result['base']['plant_a']['macro_f1']:.3f}); accepted {v['accepted']}; {v['seconds']} s"  # type: ignore[index]
        )
    print("drift ramp (shift strength: max PSI, alarm, base macro F1):")
    for r in ramp:
        print(
            f"  {r['shift']:.2f}: PSI {r['max_psi']:.3f} {'ALARM' if r['alarm'] else 'quiet'}  "
            f"F1 {r['base_macro_f1']:.3f}"
        )
    print(f"wrote {OUT / 'vision_finetune.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
