#!/usr/bin/env python3
"""Example tool: a made-up forecast. Reads {"city": ..., "unit": ...} as JSON on stdin and prints
a JSON result on stdout, as every manifest tool does (no network: the numbers are invented)."""
import json
import sys
import zlib

arguments = json.load(sys.stdin)
city = arguments["city"]
unit = arguments.get("unit", "celsius")
celsius = zlib.crc32(city.encode()) % 35 - 5  # the same city always gets the same weather
temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
print(json.dumps({"city": city, "temperature": temperature, "unit": unit,
                  "sky": ["clear", "cloudy", "rain", "snow"][zlib.crc32(city.encode()) % 4]}))
