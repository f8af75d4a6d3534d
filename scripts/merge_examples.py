"""Merge helper-written example files (slot: …, values: {value: [texts]}) into policy/examples.yaml.

Usage: python scripts/merge_examples.py BATCH.yaml [...]
Keeps the file's header comment, drops exact repeats (after normalisation), checks every slot and value exists in
policy/frame.yaml, and writes the same layout back (one double-quoted example per line).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from gpskb.text import normalise

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "policy" / "examples.yaml"
FRAME = ROOT / "policy" / "frame.yaml"


def main(paths: list[str]) -> int:
    text = EXAMPLES.read_text(encoding="utf-8")
    header = text[:text.index("\nslots:") + 1]
    data = yaml.safe_load(text)["slots"]
    frame = yaml.safe_load(FRAME.read_text(encoding="utf-8"))["slots"]
    seen = {normalise(t) for values in data.values() for texts in values.values() for t in texts}
    added = 0
    for path in paths:
        batch = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        slot = batch["slot"]
        if slot not in frame:
            raise SystemExit(f"{path}: slot {slot!r} is not in policy/frame.yaml")
        for value, texts in batch["values"].items():
            if value not in frame[slot]["values"]:
                raise SystemExit(f"{path}: value {value!r} is not a value of slot {slot!r}")
            for t in texts:
                t = " ".join(str(t).split())
                if t and normalise(t) not in seen:
                    seen.add(normalise(t))
                    data.setdefault(slot, {}).setdefault(value, []).append(t)
                    added += 1
    out = [header.rstrip("\n"), "slots:"]
    for slot, values in data.items():
        out.append(f"  {slot}:")
        for value, texts in values.items():
            out.append(f"    {value}:")
            out += [f"      - {json.dumps(t, ensure_ascii=False)}" for t in texts]
    EXAMPLES.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"added {added} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
