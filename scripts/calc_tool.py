#!/usr/bin/env python3
"""The tool demo's calculator (configs/demo-tools.yaml): a `command` tool.

Reads one JSON line per call, {"tool", "call", ...}, where "call" is what the model wrote between
<calc> and </calc>, e.g. "347*58", and answers one JSON line {"output": "=20126"}. Anything but
two integers of at most 12 digits joined by + - or * answers "=?" (the model's own mistake to see).
"""
import json
import re
import sys

EXPR = re.compile(r"^\s*(\d{1,12})\s*([-+*])\s*(\d{1,12})\s*$")

for line in sys.stdin:
    call = json.loads(line).get("call", "")
    m = EXPR.match(call) if isinstance(call, str) else None
    if m:
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        value = a * b if op == "*" else a + b if op == "+" else a - b
        output = "=" + str(value)
    else:
        output = "=?"
    print(json.dumps({"output": output}), flush=True)
