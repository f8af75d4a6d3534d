"""Who may read what people asked: the sign-in of 管理/缺口 (the page that shows logged questions and feedback).

Closed unless an operator opens it, in one of two ways (both from the environment, see gpskb.config.Settings):

- a password, GPSKB_ADMIN_TOKEN: written plainly or as `sha256:<hex digest>` (so the secret itself need not sit in a
  unit file). What is typed is compared by its SHA-256 digest with `hmac.compare_digest`, never as plain text;
- the intranet's single sign-on: a reverse proxy that authenticates the user and passes the name in a header
  (GPSKB_ADMIN_PROXY_HEADER, e.g. `X-Remote-User`). The header is believed only on connections from the proxy's own
  addresses (GPSKB_ADMIN_PROXY_ADDRESSES): anyone else can send any header.

A token set to blanks is refused (SettingError naming the variable), never read as "no password".
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from . import config
from .errors import SettingError

HASH_PREFIX = "sha256:"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Streamlit reports a connection from this machine as no address (st.context.ip_address is None)
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class AdminAccess:
    """How 管理/缺口 is opened. Build it with `from_env()`; tests build one directly."""

    token_digest: bytes | None = None
    proxy_header: str = ""
    proxy_networks: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls) -> AdminAccess:
        env = config.settings()
        if env.blank("admin_token"):
            raise SettingError(config.Settings.variable("admin_token"),
                               "is set but blank: give the password, or unset the variable")
        token = (env.admin_token or "").strip()
        if token.lower().startswith(HASH_PREFIX):
            hexdigest = token[len(HASH_PREFIX):].strip()
            try:
                raw = bytes.fromhex(hexdigest)
            except ValueError:
                raw = b""
            if len(raw) != hashlib.sha256().digest_size:
                raise SettingError(config.Settings.variable("admin_token"),
                                   "a `sha256:` password needs the 64 hex digits of its SHA-256 digest")
            token_digest: bytes | None = raw
        else:
            token_digest = digest(token) if token else None
        header = env.admin_proxy_header.strip()
        networks = env.proxy_networks
        if bool(header) != bool(networks):
            missing = "admin_proxy_addresses" if header else "admin_proxy_header"
            raise SettingError(config.Settings.variable(missing), "sign-in through a proxy needs both the header and the "
                                                                  "proxy's addresses")
        return cls(token_digest=token_digest, proxy_header=header, proxy_networks=networks)

    @property
    def configured(self) -> bool:
        return self.token_digest is not None or bool(self.proxy_header)

    def password_ok(self, given: str) -> bool:
        """Whether `given` is the password (compared as digests in constant time; False when none is set)."""
        if self.token_digest is None or not given:
            return False
        return hmac.compare_digest(digest(given), self.token_digest)

    def proxy_user(self, headers: Mapping[str, str] | None, client_ip: str | None) -> str | None:
        """The user the trusted proxy signed in, or None: the header is read only on a connection from one of the
        proxy's addresses (`client_ip` None is this machine, as Streamlit reports it)."""
        if not self.proxy_header or headers is None:
            return None
        try:
            address = ipaddress.ip_address(client_ip) if client_ip else LOOPBACK
        except ValueError:
            return None
        if not any(address in net for net in self.proxy_networks):
            return None
        wanted = self.proxy_header.lower()
        user = next((v for k, v in headers.items() if k.lower() == wanted), "")
        user = user.strip()
        return user[:100] or None
