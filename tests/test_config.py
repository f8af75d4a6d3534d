"""One typed Settings for every GPSKB_* variable (gpskb.config): the README documents exactly those, a bad value is a
SettingError naming its variable, and every module reads the environment through it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpskb import config
from gpskb.errors import SettingError

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_settings_table_is_the_one_settings_makes():
    assert config.settings_table() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_no_module_reads_the_environment_but_config():
    """Every GPSKB_* variable goes through Settings: no module of the package but config reads os.environ or getenv
    (gpskb/__init__.py only sets OMP_NUM_THREADS; bench.py reports it)."""
    allowed = {"config.py", "__init__.py", "bench.py"}
    for path in (ROOT / "src" / "gpskb").rglob("*.py"):
        if path.name in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\benviron\b|getenv\(", text), path.relative_to(ROOT)


def test_a_blank_switch_keeps_its_default_and_does_not_break_other_commands(monkeypatch):
    monkeypatch.setenv("GPSKB_LOG_QUESTIONS", "")
    monkeypatch.setenv("GPSKB_INDEX_AUTOREBUILD", "   ")
    s = config.settings()
    assert s.log_questions is False and s.index_autorebuild is True
    assert config.policy_dir().is_dir()  # the other commands still read their settings


@pytest.mark.parametrize("variable,value", [("GPSKB_INDEX_AUTOREBUILD", "perhaps"), ("GPSKB_LOG_QUESTIONS", "sometimes")])
def test_a_value_gpskb_cannot_use_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError) as exc:
        config.settings()
    assert str(exc.value).startswith(f"{variable}: ") and value in str(exc.value)


@pytest.mark.parametrize("value,expected", [("0", False), ("off", False), ("no", False), ("1", True), ("true", True),
                                            (" 0 ", False), ("", True), ("  ", True)])
def test_auto_rebuild_reads_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("GPSKB_INDEX_AUTOREBUILD", value)
    assert config.auto_rebuild() is expected


def test_blank_paths_mean_the_defaults_and_set_ones_are_used(monkeypatch, tmp_path):
    monkeypatch.setenv("GPSKB_POLICY_DIR", "  ")
    monkeypatch.setenv("GPSKB_STORE", "")
    monkeypatch.delenv("GPSKB_DATA_DIR", raising=False)
    assert config.policy_dir() == config.PROJECT_ROOT / "policy"
    assert config.store_location() == str(config.PROJECT_ROOT / "data" / "gpskb.sqlite3")
    monkeypatch.setenv("GPSKB_STORE", str(tmp_path / "s.sqlite3"))
    monkeypatch.setenv("GPSKB_DATA_DIR", str(tmp_path))
    assert config.store_location() == str(tmp_path / "s.sqlite3") and config.data_dir() == tmp_path.resolve()
    assert config.policy_dir(tmp_path) == tmp_path.resolve()  # the command line's --policy-dir wins
