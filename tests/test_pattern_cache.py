"""The compiled-pattern cache (gpskb.pattern_cache): what it gives back is what `re.compile` gives, it never hides a
broken pattern, and a missing, damaged, foreign or unwritable cache only costs time."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gpskb import pattern_cache, policy
from gpskb.errors import PolicyError
from gpskb.text import compile_pattern


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A cache file of the test's own; afterwards the process goes back to the default one."""
    monkeypatch.setenv("GPSKB_CACHE_DIR", str(tmp_path / "cache"))
    compile_pattern.cache_clear()  # else this process's earlier loads answer without asking the cache
    yield tmp_path / "cache" / pattern_cache.FILE_NAME
    compile_pattern.cache_clear()
    pattern_cache.use(None)


def test_first_load_writes_every_policy_pattern_and_the_next_finds_them(cache: Path):
    policy.load()
    entries = pattern_cache.read(cache)
    assert len(entries) > 1000  # the lexicon, language, frame and parties patterns
    # a later process: the same file, nothing left to compile, nothing written
    pattern_cache.use(None)
    compile_pattern.cache_clear()
    written = cache.stat().st_mtime_ns
    policy.load()
    assert pattern_cache.pending() == 0
    assert cache.stat().st_mtime_ns == written


def test_a_pattern_from_the_cache_is_the_pattern_re_compiles(cache: Path):
    """Pattern objects compare equal when their text, flags and matcher code are the same: every cached one does."""
    policy.load()
    entries = pattern_cache.read(cache)
    pattern_cache.use(None)
    pattern_cache.use(cache)
    samples = ["能否以劳务派遣方式通过政府购买服务用工？", "can we hire 3 cleaners for the county bureau for 2 years",
               "街道办向社会组织购买养老服务，合同期三年，预算120万元"]
    for text in entries:
        from_cache, compiled = pattern_cache.compile_cached(text), re.compile(text)
        assert from_cache == compiled, text
        assert from_cache.groupindex == compiled.groupindex
        assert [m.span() for s in samples for m in from_cache.finditer(s)] == \
               [m.span() for s in samples for m in compiled.finditer(s)]


def test_a_broken_pattern_is_still_an_error_naming_its_file_and_field(cache: Path, policy_copy: Path):
    policy.load()  # a warm cache
    lexicon = policy_copy / "lexicon.yaml"
    data = yaml.safe_load(lexicon.read_text(encoding="utf-8"))
    i = next(i for i, c in enumerate(data["concepts"]) if c.get("patterns"))
    data["concepts"][i]["patterns"].append("购买(服务")
    lexicon.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        policy.load(policy_copy)
    j = len(data["concepts"][i]["patterns"]) - 1
    assert f"lexicon.yaml: concepts[{i}].patterns[{j}]: invalid regular expression" in str(err.value)
    assert "购买(服务" not in pattern_cache.read(cache)


@pytest.mark.parametrize("content", [b"", b"not a cache", b"x" * 100_000])
def test_a_damaged_cache_file_is_ignored_and_rewritten(cache: Path, content: bytes):
    cache.parent.mkdir(parents=True)
    cache.write_bytes(content)
    kb = policy.load()
    assert kb.concepts  # loaded as without a cache
    assert len(pattern_cache.read(cache)) > 1000


def test_a_cache_from_another_python_is_ignored(cache: Path, monkeypatch: pytest.MonkeyPatch):
    policy.load()
    assert pattern_cache.read(cache)
    monkeypatch.setattr(pattern_cache, "_HEADER", ("gpskb-patterns", 1, "another Python", None))
    assert pattern_cache.read(cache) == {}


def test_a_cache_folder_that_cannot_be_written_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("GPSKB_CACHE_DIR", str(blocker / "cache"))  # under a file: no folder can be made
    compile_pattern.cache_clear()
    try:
        kb = policy.load()
        assert kb.concepts and pattern_cache.pending() > 0  # compiled, kept for a save that cannot happen
        assert pattern_cache.save() is False
    finally:
        compile_pattern.cache_clear()
        pattern_cache.use(None)


def test_an_invalid_pattern_never_enters_the_cache(cache: Path):
    pattern_cache.use(cache)
    with pytest.raises(re.error):
        pattern_cache.compile_cached("购买(服务")
    assert pattern_cache.pending() == 0
    pattern_cache.compile_cached("购买(?P<n>服务)")
    assert pattern_cache.pending() == 1 and pattern_cache.save()
    assert "购买(?P<n>服务)" in pattern_cache.read(cache)


def test_a_fresh_process_with_an_empty_cache_compiles_and_accepts_every_pattern_it_uses(tmp_path):
    """As on a fresh clone: `gpskb ask` with no cached patterns compiles each one afresh (and checks it for
    catastrophic backtracking) — the policy's, the readers' and those built in code — for Chinese and English questions."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "GPSKB_CACHE_DIR": str(tmp_path / "cache")}
    questions = ["机关食堂外包可以吗？", "Can the county court buy translation services from an individual?",
                 "县妇联能不能作为购买主体，向社工机构购买家庭教育服务？"]
    proc = subprocess.run([sys.executable, "-m", "gpskb.cli", "ask", "--json", *questions], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [a["question"] for a in answers] == questions and all("verdict" in a for a in answers)
    assert (tmp_path / "cache" / "patterns.bin").stat().st_size > 10_000
