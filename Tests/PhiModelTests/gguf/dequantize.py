#!/usr/bin/env python3
"""Dequantizes raw GGML blocks with the gguf package's numpy reference (gguf.quants.dequantize).

Usage: dequantize.py TYPE IN OUT
  TYPE  a GGMLQuantizationType name (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K, ...)
  IN    raw blocks of TYPE, as one row
  OUT   written: the row's values as little-endian float32
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType, quants


def main() -> None:
    type_name, source, target = sys.argv[1:4]
    qtype = GGMLQuantizationType[type_name]
    data = np.fromfile(source, dtype=np.uint8).reshape(1, -1)
    values = quants.dequantize(data, qtype).astype("<f4", copy=False)
    values.tofile(target)


if __name__ == "__main__":
    main()
