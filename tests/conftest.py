"""Shared fixtures (the knowledge base and an engine with a freshly built index, once per session) and the
collector of the YAML rule cases in tests/rule_cases/ (each case a test named by its sentence)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# every pattern compiled afresh, as on a fresh clone: a cache left by earlier runs (data/cache) could hide a pattern the
# loader now refuses (each test process, and each server or CLI it starts, shares this empty folder)
if "GPSKB_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["GPSKB_CACHE_DIR"] = tempfile.mkdtemp(prefix="gpskb-test-cache-")

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policy"


@pytest.fixture(scope="session")
def kb():
    return shared_engine()["kb"]


_shared: dict = {}


def shared_engine():
    """One knowledge base, index and engine per test session, for fixtures and the YAML rule cases alike.

    The committed index/ is what the product serves, so the tests answer with it when its manifest says it was built
    from these policy files and examples with this embedder (test_the_committed_index_is_fresh fails otherwise).
    When it is stale, the index is built in memory (never written), so the rest of the suite still tests the policy
    as it stands. test_frame trains readers of its own to check the stored arrays against scikit-learn."""
    if not _shared:
        from gpskb import policy
        from gpskb.answer import Engine
        from gpskb.errors import IndexMissing, IndexStale
        from gpskb.index import Index

        kb = policy.load(POLICY)
        try:
            index = Index.load(kb, ROOT / "index")
        except (IndexMissing, IndexStale):
            index = Index.build(kb, cache_dir=ROOT / "index")
        # the questions of eval/ and tests/rule_cases/ answered from their stored vectors (tests/query_vectors.py)
        from query_vectors import load, use_stored
        use_stored(index.embedder, load(index.embedder))
        _shared.update(kb=kb, index=index, engine=Engine(kb, index=index))
    return _shared


@pytest.fixture(scope="session")
def index(kb):
    return shared_engine()["index"]


@pytest.fixture(scope="session")
def engine(kb, index):
    return shared_engine()["engine"]


def stop_process(proc, timeout: float = 20) -> None:
    """Terminate a server started by a test; kill it if it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture
def policy_copy(tmp_path):
    """A writable copy of the project's policy folder, to break on purpose."""
    dst = tmp_path / "policy"
    shutil.copytree(POLICY, dst)
    return dst


# -- YAML rule cases ---------------------------------------------------------------------------------------------

CASE_KEYS = {"name", "question", "facts", "verdict", "fired", "not_fired", "decisive", "matched", "follow_up"}


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".yaml" and file_path.parent.name == "rule_cases":
        return RuleCaseFile.from_parent(parent, path=file_path)


class RuleCaseFile(pytest.File):
    def collect(self):
        cases = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        if not isinstance(cases, list):
            raise pytest.UsageError(f"{self.path}: expected a list of cases")
        seen = set()
        for i, case in enumerate(cases):
            unknown = set(case) - CASE_KEYS
            if unknown or "name" not in case or "verdict" not in case or ("question" in case) == ("facts" in case):
                raise pytest.UsageError(f"{self.path}: case [{i}] malformed (keys {sorted(case)})")
            if case["name"] in seen:
                raise pytest.UsageError(f"{self.path}: duplicate case name {case['name']!r}")
            seen.add(case["name"])
            yield RuleCase.from_parent(self, name=case["name"], case=case)


class RuleCase(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        from gpskb.frame.model import Frame
        from gpskb.nlp.facts import Facts

        engine = shared_engine()["engine"]
        rules = engine.rules
        c = self.case
        if "question" in c:  # read as the product reads it: lexicon, parties and the trained readers
            facts = engine.read(c["question"])
        else:
            unknown = set(c["facts"]) - set(rules.kb.concepts)
            assert not unknown, f"unknown concepts in facts: {unknown}"
            facts = Frame(Facts("", [], set(c["facts"])))
        outcome = rules.evaluate(facts)
        fired = [f.rule.id for f in outcome.firings]
        where = f"facts {sorted(facts.concepts)}, negated {sorted(facts.negated)}, fired {fired}"
        assert outcome.verdict == c["verdict"], f"verdict {outcome.verdict}, expected {c['verdict']} ({where})"
        for r in c.get("fired") or []:
            assert r in fired, f"rule {r} did not fire ({where})"
        for r in c.get("not_fired") or []:
            assert r not in fired, f"rule {r} fired but must not ({where})"
        if c.get("decisive"):
            assert outcome.decisive and outcome.decisive.rule.id == c["decisive"], f"decisive rule ({where})"
        for w in c.get("matched") or []:
            assert outcome.decisive and w in outcome.decisive.matched, \
                f"{w!r} not among matched {outcome.decisive.matched if outcome.decisive else []}"
        if "follow_up" in c:
            assert bool(outcome.follow_ups) == bool(c["follow_up"]), f"follow-ups {[f.id for f in outcome.follow_ups]}"

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, AssertionError):
            q = self.case.get("question") or self.case.get("facts")
            return f"{self.path.name}: {self.name}\n  input: {q}\n  {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}::{self.name}"


# -- a real PostgreSQL server for the store tests ------------------------------------------------------------------


class PostgresServer:
    """Debian's PostgreSQL, started by the tests in a temporary folder on a free loopback port and stopped at the end
    (`make test` installs the package; nothing runs as a service). Run as the `postgres` user when the tests run as
    root (initdb refuses root). `url(db)` is a URL for the store; `new_database()` gives each test its own."""

    def __init__(self, base: Path) -> None:
        import glob
        import pwd
        import socket

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.fail("PostgreSQL is not installed: the store tests need Debian's postgresql (`make test` installs "
                        "it; by hand: apt-get install postgresql)")
        self.bin = Path(found[-1]).parent
        self.base = base
        self.data, self.log = base / "data", base / "server.log"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(base, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run("initdb", "-D", str(self.data), "-U", "gpskb", "--auth=trust", "-E", "UTF8", "--locale=C")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", "-o",
                  f"-p {self.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off")
        self._count = 0

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run([*self.prefix, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        if proc.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{tool} failed ({proc.returncode}): {proc.stderr or proc.stdout}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://gpskb@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        self._count += 1
        name = f"store_{os.getpid()}_{self._count}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=gpskb dbname=postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture(scope="session")
def postgres():
    import tempfile

    # not under pytest's own temporary folder: that one is readable by root only, and the server runs as postgres
    base = Path(tempfile.mkdtemp(prefix="gpskb-pg-"))
    try:
        server = PostgresServer(base)
        yield server
        server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
