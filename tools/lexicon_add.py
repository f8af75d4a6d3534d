"""Add terms or exceptions to a concept of policy/lexicon.yaml without disturbing its comments and layout.

    python tools/lexicon_add.py CONCEPT terms|exceptions WORD [WORD ...]

The loader (gpskb.policy) still checks the result: duplicates across concepts are rejected there.
"""
import re
import sys
from pathlib import Path

path = Path(__file__).resolve().parents[1] / "policy" / "lexicon.yaml"
concept, key, words = sys.argv[1], sys.argv[2], sys.argv[3:]
assert key in ("terms", "exceptions"), key
text = path.read_text(encoding="utf-8")
m = re.search(rf"^  - id: {re.escape(concept)}\n(.*?)(?=^  - id: |\Z)", text, re.S | re.M)
if not m:
    sys.exit(f"no concept {concept!r}")
block = m.group(0)
existing = re.search(rf"^    {key}: \[(.*?)\]", block, re.S | re.M)
if existing:
    have = {w.strip() for w in existing.group(1).replace("\n", " ").split(",")}
    new = [w for w in words if w not in have]
    if not new:
        sys.exit(0)
    block2 = block[:existing.end(1)] + ", " + ", ".join(new) + block[existing.end(1):]
else:
    anchor = re.search(r"^    terms: \[.*?\]\n", block, re.S | re.M)
    block2 = block[:anchor.end()] + f"    {key}: [{', '.join(words)}]\n" + block[anchor.end():]
path.write_text(text.replace(block, block2, 1), encoding="utf-8")
