"""Add regular expressions to a concept of policy/lexicon.yaml (`patterns` or `exception_patterns`), keeping layout.

    python tools/lexicon_pattern.py CONCEPT patterns|exception_patterns REGEX [REGEX ...]
"""
import re
import sys
from pathlib import Path

path = Path(__file__).resolve().parents[1] / "policy" / "lexicon.yaml"
concept, key, regexes = sys.argv[1], sys.argv[2], sys.argv[3:]
assert key in ("patterns", "exception_patterns"), key
for rx in regexes:
    re.compile(rx)
text = path.read_text(encoding="utf-8")
m = re.search(rf"^  - id: {re.escape(concept)}\n(.*?)(?=^  - id: |\Z)", text, re.S | re.M)
if not m:
    sys.exit(f"no concept {concept!r}")
block = m.group(0)
items = "".join("      - '" + rx.replace("'", "''") + "'\n" for rx in regexes)
existing = re.search(rf"^    {key}:\n((?:      - .*\n)+)", block, re.M)
if existing:
    block2 = block[:existing.end()] + items + block[existing.end():]
else:
    anchor = re.search(r"^    terms: \[.*?\]\n", block, re.S | re.M)
    block2 = block[:anchor.end()] + f"    {key}:\n" + items + block[anchor.end():]
path.write_text(text.replace(block, block2, 1), encoding="utf-8")
