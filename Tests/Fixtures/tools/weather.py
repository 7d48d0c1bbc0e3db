#!/usr/bin/env python3
"""Fixture tool: reads {"city": ..., "days": ...} on stdin, prints a made-up forecast as JSON.
With a file path argument, also appends the arguments it received to that file (one JSON line)."""
import json
import sys

arguments = json.load(sys.stdin)
if len(sys.argv) > 1:
    with open(sys.argv[1], "a", encoding="utf-8") as log:
        log.write(json.dumps(arguments, ensure_ascii=False) + "\n")
city = arguments.get("city", "")
days = arguments.get("days", 1)
print(json.dumps({"city": city, "forecast": f"sunny for {days} day(s)", "marker": "WEATHER-RESULT-7f3a"}))
