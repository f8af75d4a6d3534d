"""Where gpskb finds its policy data, its index and its data store: defaults, environment variables, CLI options."""
from __future__ import annotations

import os
from pathlib import Path

#: The repository root when gpskb runs from a checkout (editable install); the defaults hang off it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

POLICY_ENV = "GPSKB_POLICY_DIR"
INDEX_ENV = "GPSKB_INDEX_DIR"
DATA_ENV = "GPSKB_DATA_DIR"
REBUILD_ENV = "GPSKB_INDEX_AUTOREBUILD"


def policy_dir(override: str | os.PathLike | None = None) -> Path:
    """The policy folder: an explicit override, else $GPSKB_POLICY_DIR, else the project's policy/."""
    value = override or os.environ.get(POLICY_ENV)
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "policy"


def index_dir(policy: Path, override: str | os.PathLike | None = None) -> Path:
    """The index folder: an override, else $GPSKB_INDEX_DIR, else `index/` beside the policy folder.

    Beside, not fixed: a site that keeps its own policy folder gets its own index and never overwrites ours.
    """
    value = override or os.environ.get(INDEX_ENV)
    return Path(value).expanduser().resolve() if value else policy.parent / "index"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """Where feedback and question logs are stored (git-ignored `data/` by default)."""
    value = override or os.environ.get(DATA_ENV)
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "data"


def auto_rebuild() -> bool:
    """Whether a stale index is rebuilt on load (default) or refused with a message (GPSKB_INDEX_AUTOREBUILD=0)."""
    return os.environ.get(REBUILD_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}
