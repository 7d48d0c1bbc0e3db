#!/usr/bin/env python3
"""Example tool: arithmetic on two numbers. Reads {"a": ..., "b": ..., "op": ...} on stdin; a
failure (division by zero) exits non-zero with a message on stderr, which the model sees as an
error result."""
import json
import sys

arguments = json.load(sys.stdin)
a, b, op = arguments["a"], arguments["b"], arguments["op"]
if op == "divide" and b == 0:
    print("cannot divide by zero", file=sys.stderr)
    sys.exit(1)
result = {"add": a + b, "subtract": a - b, "multiply": a * b, "divide": a / b if b else None}[op]
print(json.dumps({"result": result}))
