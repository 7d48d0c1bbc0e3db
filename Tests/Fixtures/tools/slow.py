#!/usr/bin/env python3
"""Fixture tool that never finishes in time: sleeps for a minute."""
import time

time.sleep(60)
print("too late")
