"""Where the ExchangeRate-API key comes from, and how it is rotated.

Providers, in the order :func:`key_provider_from_settings` consults them:

1. the key set directly (``MAKERATES_EXCHANGERATE_API_KEY``, for development);
2. a file (``exchangerate_api_key_file``; Docker and Kubernetes mount secrets as files);
3. HashiCorp Vault KV v2 through hvac (``vault_addr``; token or AppRole auth).

Vault layout: one KV v2 secret at ``vault_key_path`` holding ``api_key``, ``created_at``
and, after a rotation, ``previous_api_key`` and ``previous_valid_until``. KV v2 keeps
every version; a rotation writes a new one with check-and-set, so two concurrent
rotations cannot both win. The previous key stays usable for the grace period (24 h by
default); callers use it only when the provider answers ``invalid-key`` to the current one.

A key older than ``key_max_age_days`` (90) or a failed rotation is an alert:
:class:`KeyRotationError` is raised and an error is logged. Keys are kept as
:class:`~makerates_lake.secret.Secret` and never logged, shown or put in an exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from makerates_lake.extract.errors import KeyRotationError, SecretError
from makerates_lake.redact import redact_text, redact_url
from makerates_lake.secret import Secret
from makerates_lake.settings import Settings

log = logging.getLogger(__name__)

Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, repr=False)
class ApiKeys:
    """The current key and, during a grace period, the one it replaced.

    Attributes:
        current: The key to use.
        created_at: When the current key was set; None when unknown (environment).
        previous: The key before the last rotation, if any.
        previous_valid_until: End of the previous key's grace period.
        version: The secret store's version of this pair, if it has versions.
        origin: Where the keys came from (no secret in it).
    """

    current: Secret
    created_at: datetime | None = None
    previous: Secret | None = None
    previous_valid_until: datetime | None = None
    version: int | None = None
    origin: str = ""

    def __repr__(self) -> str:
        return (
            f"ApiKeys(current={self.current!r}, created_at={self.created_at}, "
            f"previous={'set' if self.previous else None}, "
            f"previous_valid_until={self.previous_valid_until}, version={self.version}, "
            f"origin={self.origin!r})"
        )

    def previous_usable(self, now: datetime) -> bool:
        """True when a previous key exists and its grace period has not ended."""
        return (
            self.previous is not None
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
        )

    def age(self, now: datetime) -> timedelta | None:
        """How old the current key is, when known."""
        return None if self.created_at is None else now - self.created_at

    def values(self) -> tuple[str, ...]:
        """Every key value, for redaction."""
        return tuple(k.reveal() for k in (self.current, self.previous) if k)


@runtime_checkable
class KeyProvider(Protocol):
    """Reads the API keys."""

    description: str

    def load(self) -> ApiKeys:
        """The keys as the store holds them now.

        Raises:
            SecretError: The store cannot be read or holds no key.
        """


@runtime_checkable
class RotatingKeyProvider(KeyProvider, Protocol):
    """A provider that can also write a new key version."""

    def rotate(self, new_key: Secret) -> ApiKeys:
        """Make ``new_key`` current and keep the old one for the grace period.

        Raises:
            KeyRotationError: The write failed or could not be confirmed.
        """


class StaticKeyProvider:
    """A key given directly (settings or ``MAKERATES_EXCHANGERATE_API_KEY``); development only.

    Args:
        key: The key.
        description: Where it came from.
    """

    def __init__(self, key: Secret, description: str = "settings.exchangerate_api_key") -> None:
        if not key:
            raise SecretError("the API key is empty", origin=description)
        self._key = key
        self.description = description

    def load(self) -> ApiKeys:
        """The key; its age is unknown."""
        return ApiKeys(current=self._key, origin=self.description)


class FileKeyProvider:
    """A key in a file (a Docker or Kubernetes secret); its age is the file's mtime.

    Args:
        path: The file; surrounding whitespace is ignored.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self.description = f"file {path}"

    def load(self) -> ApiKeys:
        """Read the file."""
        try:
            text = self._path.read_text(encoding="utf-8").strip()
            mtime = self._path.stat().st_mtime
        except OSError as exc:
            raise SecretError(
                f"cannot read the key file: {type(exc).__name__}", origin=self.description
            ) from None
        if not text:
            raise SecretError("the key file is empty", origin=self.description)
        return ApiKeys(
            current=Secret(text),
            created_at=datetime.fromtimestamp(mtime, UTC),
            origin=self.description,
        )


def _parse_time(value: Any, field_name: str, origin: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise SecretError(
            f"field {field_name!r} is not an ISO timestamp", origin=origin
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class VaultKeyProvider:
    """The key in HashiCorp Vault KV v2, read and rotated through hvac.

    Args:
        client: An authenticated ``hvac.Client`` (see :func:`vault_client`).
        path: KV v2 path of the secret.
        mount_point: Mount point of the KV v2 engine.
        grace: How long the previous key stays usable after a rotation.
        now: Clock (tests pass a fake one).
    """

    def __init__(
        self,
        client: Any,
        path: str,
        *,
        mount_point: str = "secret",
        grace: timedelta = timedelta(hours=24),
        now: Now = _utcnow,
    ) -> None:
        self._client = client
        self._path = path
        self._mount = mount_point
        self._grace = grace
        self._now = now
        self.description = f"vault {redact_url(str(client.url))} {mount_point}/{path}"

    def _read(self) -> tuple[dict[str, Any], int] | None:
        import hvac.exceptions

        try:
            response = self._client.secrets.kv.v2.read_secret_version(
                path=self._path, mount_point=self._mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return None
        except Exception as exc:
            raise SecretError(
                f"Vault read failed: {type(exc).__name__}", origin=self.description
            ) from None
        data = response["data"]
        return dict(data["data"] or {}), int(data["metadata"]["version"])

    def load(self) -> ApiKeys:
        """Read the current version of the secret."""
        found = self._read()
        if found is None:
            raise SecretError("no secret at this Vault path", origin=self.description)
        data, version = found
        key = data.get("api_key")
        if not key:
            raise SecretError("the Vault secret has no 'api_key' field", origin=self.description)
        previous = data.get("previous_api_key")
        return ApiKeys(
            current=Secret(str(key)),
            created_at=_parse_time(data.get("created_at"), "created_at", self.description),
            previous=Secret(str(previous)) if previous else None,
            previous_valid_until=_parse_time(
                data.get("previous_valid_until"), "previous_valid_until", self.description
            ),
            version=version,
            origin=self.description,
        )

    def rotate(self, new_key: Secret) -> ApiKeys:
        """Write a new version: ``new_key`` current, the old key valid for the grace period."""
        if not new_key:
            raise KeyRotationError("the new key is empty", origin=self.description)
        found = self._read()
        old_data, version = found if found is not None else ({}, 0)
        if old_data.get("api_key") == new_key.reveal():
            raise KeyRotationError(
                "the new key equals the current one", origin=self.description
            )
        now = self._now()
        secret: dict[str, str] = {"api_key": new_key.reveal(), "created_at": now.isoformat()}
        if old_data.get("api_key"):
            secret["previous_api_key"] = str(old_data["api_key"])
            secret["previous_valid_until"] = (now + self._grace).isoformat()
        known = [new_key.reveal(), str(old_data.get("api_key", ""))]
        try:
            # cas: the write succeeds only if nobody wrote since we read (0 = must not exist).
            self._client.secrets.kv.v2.create_or_update_secret(
                path=self._path, secret=secret, cas=version, mount_point=self._mount
            )
        except Exception as exc:
            raise KeyRotationError(
                f"Vault refused the new key version: {type(exc).__name__}: "
                f"{redact_text(str(exc), known)}",
                origin=self.description,
                version=version,
            ) from None
        keys = self.load()
        if keys.current != new_key or (keys.version or 0) <= version:
            raise KeyRotationError(
                "the new key version could not be confirmed", origin=self.description
            )
        log.info(
            "API key rotated",
            extra={"event": "key_rotated", "origin": self.description, "version": keys.version},
        )
        return keys


class CachedKeyProvider:
    """Reuses what another provider returned for ``ttl_s`` seconds; thread-safe.

    Args:
        inner: The provider to cache.
        ttl_s: Seconds a read is reused.
        clock: Monotonic clock.
    """

    def __init__(
        self, inner: KeyProvider, ttl_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.description = inner.description
        self._ttl = ttl_s
        self._clock = clock
        self._cached: tuple[float, ApiKeys] | None = None
        self._lock = threading.Lock()

    def load(self) -> ApiKeys:
        """The cached keys, re-read once the TTL has passed."""
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                self._cached = (now, self.inner.load())
            return self._cached[1]

    def invalidate(self) -> None:
        """Forget the cached keys (after the provider rejected one)."""
        with self._lock:
            self._cached = None


def check_key_age(keys: ApiKeys, *, max_age: timedelta, now: datetime | None = None) -> None:
    """Alert when the current key is overdue for rotation.

    Raises:
        KeyRotationError: The key is older than ``max_age`` (an error is logged too).
    """
    age = keys.age(now or _utcnow())
    if age is None or age <= max_age:
        return
    log.error(
        "API key overdue for rotation",
        extra={
            "event": "key_rotation_overdue",
            "origin": keys.origin,
            "age_days": round(age.total_seconds() / 86400, 1),
            "max_age_days": max_age.total_seconds() / 86400,
        },
    )
    raise KeyRotationError(
        f"the API key is {age.days} days old; rotate it (limit {max_age.days} days)",
        error_code="key-overdue",
        origin=keys.origin,
    )


def vault_client(settings: Settings) -> Any:
    """An authenticated hvac client: token, or AppRole when a role id is set.

    Raises:
        SecretError: Vault is not configured, unreachable, or refused the login.
    """
    import hvac

    if not settings.vault_addr:
        raise SecretError("vault_addr is not set", key="vault_addr")
    verify: bool | str = str(settings.vault_ca_file) if settings.vault_ca_file else True
    client = hvac.Client(
        url=settings.vault_addr, verify=verify, timeout=settings.http_read_timeout_s
    )
    origin = redact_url(settings.vault_addr)
    if settings.vault_role_id:
        if not settings.vault_secret_id:
            raise SecretError("vault_role_id is set but vault_secret_id is not", origin=origin)
        try:
            client.auth.approle.login(
                role_id=settings.vault_role_id, secret_id=settings.vault_secret_id.reveal()
            )
        except Exception as exc:
            raise SecretError(
                f"Vault AppRole login failed: {type(exc).__name__}", origin=origin
            ) from None
    elif settings.vault_token:
        client.token = settings.vault_token.reveal()
    else:
        raise SecretError(
            "no Vault credentials: set vault_token or vault_role_id and vault_secret_id",
            origin=origin,
        )
    return client


def key_provider_from_settings(settings: Settings) -> KeyProvider:
    """The provider the settings point to, wrapped in a TTL cache.

    Raises:
        SecretError: No key is configured; the message lists every place looked at.
    """
    inner: KeyProvider
    if settings.exchangerate_api_key:
        inner = StaticKeyProvider(settings.exchangerate_api_key)
    elif settings.exchangerate_api_key_file:
        inner = FileKeyProvider(settings.exchangerate_api_key_file)
    elif settings.vault_addr:
        inner = VaultKeyProvider(
            vault_client(settings),
            settings.vault_key_path,
            mount_point=settings.vault_mount_point,
            grace=timedelta(hours=settings.key_grace_period_h),
        )
    else:
        raise SecretError(
            "no ExchangeRate-API key configured",
            consulted="MAKERATES_EXCHANGERATE_API_KEY / exchangerate_api_key; "
            "MAKERATES_EXCHANGERATE_API_KEY_FILE / exchangerate_api_key_file; "
            "MAKERATES_VAULT_ADDR / vault_addr",
        )
    return CachedKeyProvider(inner, settings.secret_cache_ttl_s)
