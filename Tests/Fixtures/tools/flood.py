#!/usr/bin/env python3
"""Fixture tool that prints far more than any output cap (10 MB)."""
import sys

chunk = "x" * 65536
for _ in range(160):
    sys.stdout.write(chunk)
