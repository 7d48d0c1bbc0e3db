#!/usr/bin/env python3
"""Fixture tool that reports a problem on stderr and exits with status 3."""
import sys

sys.stdin.read()
print("the weather service is unreachable", file=sys.stderr)
sys.exit(3)
