"""Run the training comparisons of bench_train on a CUDA GPU: data on the device, batches by
index, bf16 autocast; the engine and the hand-written loop with channels_last for the
convolutions and fused optimizers, the DataLoader loop with PyTorch's defaults. Without a
GPU it runs the same comparison on the CPU and says so.

    python -m bench.gpu
"""

from __future__ import annotations

import json
import sys

import torch

from bench.bench_train import compare


def main() -> int:
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        print(f"GPU: {name} (bf16 autocast, channels_last, data on the device)")
        figures = compare("cuda", amp=True)
    else:
        print("no CUDA GPU here: running the same comparison on the CPU instead")
        figures = compare("cpu")
    for k, v in figures.items():
        print(f"{k} = {v:.4g}")
    print(json.dumps({f"gpu_{k}" if torch.cuda.is_available() else f"cpu_{k}": v
                      for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
