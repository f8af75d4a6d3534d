"""The API's constants and settings (the environment's part read through gpskb.config.Settings)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import config
from ..errors import SettingError

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 100
MAX_FACTS = 32
#: /api requests answered or waiting at once before one more gets 503 (GPSKB_MAX_IN_FLIGHT)
MAX_IN_FLIGHT = 32
TOKEN_ENV = config.Settings.variable("api_token")
#: asked once at startup so the first real request does not pay for loading the model's pages
WARMUP_QUESTION = "能否以劳务派遣方式通过政府购买服务用工？"
_VERDICT_KEY = "gpskb.verdict"  # set in the ASGI scope by an endpoint, read by the request log

JSON = "application/json"


# ---------------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class Settings:
    """What the environment decides about the API (see the module docstring). Tests build one directly."""

    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    log_questions: bool = False
    store_path: str | None = None  # None → the Store's default ($GPSKB_STORE or data/gpskb.sqlite3)
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH
    max_in_flight: int = MAX_IN_FLIGHT
    retry_after_s: int = 1

    @classmethod
    def from_env(cls) -> Settings:
        """The API's part of the environment's settings (gpskb.config.Settings: GPSKB_API_TOKEN, GPSKB_CORS_ORIGINS,
        GPSKB_LOG_QUESTIONS)."""
        env = config.settings()
        if env.token_blank:  # never serve without authentication because a token was set to spaces
            raise SettingError(TOKEN_ENV, "is set but blank: give the token, or unset the variable to serve without "
                                          "authentication")
        return cls(token=env.token, cors_origins=env.origins, log_questions=env.log_questions,
                   max_in_flight=env.max_in_flight)
