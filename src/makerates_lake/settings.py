"""Typed, frozen settings.

Precedence, highest first: explicit arguments to :func:`load_settings`, environment
variables ``MAKERATES_<FIELD>`` (upper case), a TOML file (``MAKERATES_CONFIG`` or the
``config_file`` argument; keys are the field names), then the defaults below.
Nothing is read at import time. Secrets are :class:`~makerates_lake.secret.Secret`
values, masked in every ``repr``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from makerates_lake.errors import ConfigError
from makerates_lake.pins import check_pins_setting
from makerates_lake.redact import DSN_KV_PASSWORD, DSN_URL_PASSWORD, redact_url
from makerates_lake.secret import Secret
from makerates_lake.setting_checks import check_values

ENV_PREFIX = "MAKERATES_"
CONFIG_ENV = "MAKERATES_CONFIG"


def _default_home() -> Path:
    return Path.home() / ".makerates"


@dataclass(frozen=True, kw_only=True, repr=False)
class Settings:
    """Everything the library can be configured with.

    Attributes:
        home: Folder of the embedded lake (SQLite catalog and local warehouse).
        catalog_name: Name of the Iceberg catalog.
        catalog_uri: ``sqlite:///...`` or ``postgresql+psycopg://...`` for a SQL catalog,
            ``http(s)://...`` for an Iceberg REST catalog. Default: SQLite under ``home``.
        catalog_password: Password for the catalog database, kept out of ``catalog_uri``.
        catalog_token: Bearer token for a REST catalog (``catalog_auth = "token"``).
        catalog_auth: How a REST catalog is authenticated: ``none``, ``token`` (a bearer
            ``catalog_token``), ``oauth2`` (client credentials ``catalog_credential``
            exchanged at the catalog's ``/v1/oauth/tokens``) or ``sigv4`` (requests signed
            with the S3 credentials for ``catalog_signing_name``). Default: ``token`` when
            a token is set, else ``none``.
        catalog_credential: ``client_id:client_secret`` for ``oauth2``.
        catalog_signing_name: The AWS service name ``sigv4`` signs for (``s3tables`` for
            S3 Tables and SeaweedFS, ``glue`` for Glue's REST endpoint).
        warehouse: Where silver, gold and audit data live (``file://`` or ``s3://``).
        bronze_warehouse: Where bronze lives; on MinIO its own WORM bucket. Default: ``warehouse``.
        s3_endpoint: S3/MinIO endpoint URL, e.g. ``http://127.0.0.1:9000``.
        s3_access_key_id: S3 access key id.
        s3_secret_access_key: S3 secret key.
        s3_region: S3 region.
        data_classification: Default ``data_classification`` of bronze rows.
        retention_policy: Default ``retention_policy`` of bronze rows (``keep-<n>-<days|years>``).
        principal: Who the audit log names; default the OS user.
        contact_url: Contact URL sent in the User-Agent.
        exchangerate_api_key: ExchangeRate-API v6 key (when not in Vault).
        vault_addr: HashiCorp Vault address.
        vault_token: Vault token.
        vault_key_path: KV v2 path of the ExchangeRate-API key.
        rate_limit_calls: Calls allowed per source per ``rate_limit_period_s``.
        rate_limit_period_s: Window of the client-side rate limiter.
        http_connect_timeout_s: TCP/TLS connect timeout.
        http_read_timeout_s: Read timeout.
        max_response_bytes: Bodies larger than this are cut off and recorded as errors.
        http_ca_file: PEM bundle of CAs trusted for HTTPS sources (a private CA); default certifi.
        http_pins: Optional certificate pinning: per source host, the SHA-256 pins of the
            server public keys (SPKI) it may present, the current one and backups for a
            rotation: ``host=sha256/<base64>,sha256/<base64>; other.host=sha256/<base64>``
            (:mod:`makerates_lake.pins`). A pinned host presenting another key is refused
            before anything is sent; hosts not listed are not pinned. Default: none.
        http_retry_attempts: Attempts per source request (transport errors, 429, 5xx) before
            the next tier is tried.
        retry_after_max_s: Longest ``Retry-After`` honoured; a longer one moves to the next tier.
        rate_limit_warn_remaining: Log a warning when a provider's remaining-calls header
            falls under this.
        extract_chain: Comma-separated tier chain for ``ingest``, primary first
            (source names from :mod:`makerates_lake.source_names`).
        exchangerate_api_url: Base URL of ExchangeRate-API v6.
        exchangerate_api_auth: ``path`` (key in the URL path) or ``bearer`` (Authorization header).
        open_er_api_url: Base URL of open.er-api.com.
        frankfurter_url: Base URL of Frankfurter (without ``/v1`` or ``/v2``).
        frankfurter_version: ``v1`` or ``v2`` API of Frankfurter.
        ecb_daily_url: URL of the ECB daily reference rates XML.
        ecb_history_url: URL of the ECB history file (zip).
        exchangerate_api_key_file: File holding the ExchangeRate-API key (Docker/Kubernetes
            secrets); used when no key is set directly and no Vault is configured.
        vault_mount_point: Mount point of the KV v2 secrets engine.
        vault_role_id: AppRole role id (AppRole auth instead of a token).
        vault_secret_id: AppRole secret id.
        vault_ca_file: PEM bundle to verify Vault's TLS certificate; default the system bundle.
        secret_cache_ttl_s: How long a key read from its provider is reused.
        key_max_age_days: A current key older than this raises a rotation alert.
        key_grace_period_h: How long the previous key stays usable after a rotation.
        publish_dsn: PostgreSQL DSN for the published 90-day view (secret: holds a password).
        commit_retry_attempts: Attempts for a commit that loses a race with another writer.
        jump_threshold: Relative day-over-day change of a rate (0.1 = 10 %) above which
            silver flags it ``is_jump`` (kept, not rejected).
        stale_after_hours: Age of a "latest" answer's provider timestamp at extraction
            above which silver flags it ``is_stale`` (default 96 h covers a long weekend).
        snapshot_retention_days: ``makerates maintain`` expires silver/gold snapshots older
            than this many days (never tagged ones, branch heads or the newest); as-of
            reads by time reach back this far.
        run_bases: Comma-separated base currencies ``makerates run`` ingests.
        wap_thresholds: Bounds of the checks before publish, ``name=value,...`` over the
            defaults (``makerates_lake.wap_thresholds``; docs/audit.md).
        disagreement_threshold: Relative difference (0.02 = 2 %) above which two sources'
            rates for the same pair and date are a disagreement: ``|a - b| / min(a, b)``.
        alert_webhook_url: Where alerts are POSTed (secret: a Slack webhook URL is a
            credential); no URL, no alerts (they are still logged).
        alert_webhook_format: ``slack`` (``{"text": ...}``, Slack-compatible) or ``json``
            (the alert's fields as one JSON object).
        alert_retry_attempts: Attempts per alert (transport errors, 429, 5xx) before it
            counts as undeliverable.
        compact_every_hours: ``makerates run`` compacts every table when its last
            compaction is at least this old (default daily).
        expire_every_days: ``makerates run`` expires snapshots and removes orphan files
            when the last expiry is at least this old (default weekly).
        verify_every_days: ``makerates run`` verifies the whole lake (checksums, files,
            lineage) when the last verify is at least this old (default weekly).
    """

    home: Path = field(default_factory=_default_home)
    catalog_name: str = "makerates"
    catalog_uri: str | None = None
    catalog_password: Secret | None = None
    catalog_token: Secret | None = None
    catalog_auth: str | None = None
    catalog_credential: Secret | None = None
    catalog_signing_name: str = "s3tables"
    warehouse: str | None = None
    bronze_warehouse: str | None = None
    s3_endpoint: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: Secret | None = None
    s3_region: str = "us-east-1"
    data_classification: str = "internal"
    retention_policy: str = "keep-5-years"
    principal: str | None = None
    contact_url: str = "https://github.com/makerates/makerates_lake"
    exchangerate_api_key: Secret | None = None
    vault_addr: str | None = None
    vault_token: Secret | None = None
    vault_key_path: str = "makerates/exchangerate-api"
    rate_limit_calls: int = 100
    rate_limit_period_s: float = 60.0
    http_connect_timeout_s: float = 5.0
    http_read_timeout_s: float = 30.0
    max_response_bytes: int = 10 * 1024 * 1024
    http_ca_file: Path | None = None
    http_pins: str | None = None
    http_retry_attempts: int = 3
    retry_after_max_s: float = 120.0
    rate_limit_warn_remaining: int = 10
    extract_chain: str = "exchangerate-api,open-er-api,frankfurter"
    exchangerate_api_url: str = "https://v6.exchangerate-api.com"
    exchangerate_api_auth: str = "path"
    open_er_api_url: str = "https://open.er-api.com"
    frankfurter_url: str = "https://api.frankfurter.dev"
    frankfurter_version: str = "v1"
    ecb_daily_url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    ecb_history_url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
    exchangerate_api_key_file: Path | None = None
    vault_mount_point: str = "secret"
    vault_role_id: str | None = None
    vault_secret_id: Secret | None = None
    vault_ca_file: Path | None = None
    secret_cache_ttl_s: float = 300.0
    key_max_age_days: float = 90.0
    key_grace_period_h: float = 24.0
    publish_dsn: Secret | None = None
    commit_retry_attempts: int = 20
    jump_threshold: float = 0.1
    stale_after_hours: float = 96.0
    snapshot_retention_days: int = 90
    run_bases: str = "USD,EUR"
    disagreement_threshold: float = 0.02
    alert_webhook_url: Secret | None = None
    alert_webhook_format: str = "slack"
    alert_retry_attempts: int = 3
    compact_every_hours: float = 24.0
    expire_every_days: float = 7.0
    verify_every_days: float = 7.0
    wap_thresholds: str = ""

    def __repr__(self) -> str:
        # URIs may carry a password (postgresql://user:pw@host); Secret fields mask themselves.
        shown = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str) and "://" in value:
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def secret_values(self) -> list[str]:
        """Every secret these settings hold, revealed, for scrubbing messages and logs.

        Includes the password inside ``publish_dsn`` and the client secret of
        ``catalog_credential`` on their own: a driver or a token endpoint may echo them.
        """
        values = [
            getattr(self, item.name).reveal()
            for item in dataclasses.fields(self)
            if isinstance(getattr(self, item.name), Secret) and getattr(self, item.name)
        ]
        if self.publish_dsn:
            values.extend(dsn_passwords(self.publish_dsn.reveal()))
        if self.catalog_credential and ":" in self.catalog_credential.reveal():
            values.append(self.catalog_credential.reveal().split(":", 1)[1])
        return values

    @property
    def resolved_catalog_uri(self) -> str:
        """The catalog URI, defaulting to SQLite in ``home``."""
        return self.catalog_uri or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def resolved_warehouse(self) -> str:
        """The warehouse location, defaulting to a folder in ``home``."""
        return self.warehouse or (self.home / "warehouse").as_uri()

    @property
    def resolved_bronze_warehouse(self) -> str:
        """Where bronze tables live."""
        return self.bronze_warehouse or self.resolved_warehouse

    @property
    def is_rest_catalog(self) -> bool:
        """True when the catalog is an Iceberg REST server."""
        return self.resolved_catalog_uri.startswith(("http://", "https://"))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (values are parsed like explicit arguments)."""
        return load_settings(_explicit_only=True, _base=self, **changes)


def dsn_password(dsn: str) -> str | None:
    """The password of a libpq DSN (URL or ``key=value`` form), if it has one."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # an unparsable DSN has no password libpq can find
        return None
    return None if password is None else str(password)


def dsn_passwords(dsn: str) -> list[str]:
    """Every spelling of the DSN's password a message may quote: as libpq reads it and
    as it is written (percent-encoded, quoted), even when libpq cannot parse the DSN."""
    found = [p for p in (dsn_password(dsn),) if p]
    # As written, found even when libpq cannot parse the DSN: its error then quotes the
    # raw text (a bad percent escape, say).
    for pattern in (DSN_URL_PASSWORD, DSN_KV_PASSWORD):
        if (match := pattern.search(dsn)) is not None:
            written = match.group(2)
            found += [written, written.strip("'")]
    return list(dict.fromkeys(p for p in found if p))


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _parser_for(annotation: str) -> Callable[[Any], Any]:
    base = annotation.replace(" | None", "").strip()
    parsers: dict[str, Callable[[Any], Any]] = {
        # Absolute: the warehouse location is a file:// URI, which a relative path is not.
        "Path": lambda v: Path(v).expanduser().absolute(),
        "str": str,
        "int": int,
        "float": float,
        "bool": lambda v: v if isinstance(v, bool) else _parse_bool(str(v)),
        "Secret": lambda v: v if isinstance(v, Secret) else Secret(str(v)),
    }
    return parsers[base]


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    _explicit_only: bool = False,
    _base: Settings | None = None,
    **explicit: Any,
) -> Settings:
    """Build :class:`Settings` from explicit arguments, environment, file and defaults.

    Args:
        config_file: A TOML file; default ``$MAKERATES_CONFIG`` if set, else none.
        environ: The environment to read (default ``os.environ``).
        **explicit: Field values that win over everything else.

    Raises:
        ConfigError: A key is unknown or a value cannot be parsed; the message names the
            key and where it came from, and lists every place consulted.
    """
    env = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    consulted: list[str] = ["explicit arguments"]
    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}

    if not _explicit_only:
        consulted.append(f"environment {ENV_PREFIX}*")
        path = config_file or env.get(CONFIG_ENV)
        file_values = _read_config_file(Path(path)) if path else {}
        if path:
            consulted.append(f"file {path}")
        consulted.append("defaults")
        for key, value in file_values.items():
            if key not in fields:
                raise ConfigError(
                    f"unknown setting {key!r} in config file",
                    key=key,
                    source=str(path),
                    known=", ".join(sorted(fields)),
                )
            raw[key], origin[key] = value, f"file {path}"
        for name in fields:
            env_key = ENV_PREFIX + name.upper()
            if env_key in env and env[env_key] != "":
                raw[name], origin[name] = env[env_key], f"environment {env_key}"

    for key, value in explicit.items():
        if key not in fields:
            raise ConfigError(f"unknown setting {key!r}", key=key, source="explicit arguments")
        raw[key], origin[key] = value, "explicit arguments"

    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            parsed[key] = None
            continue
        try:
            parsed[key] = _parser_for(str(fields[key].type))(value)
        except (TypeError, ValueError) as exc:
            shown = "<secret>" if "Secret" in str(fields[key].type) else repr(value)
            raise ConfigError(
                f"invalid value {shown} for setting {key!r}: {exc}",
                key=key,
                source=origin[key],
                consulted="; ".join(consulted),
            ) from None
    check_values(parsed, origin)
    check_pins_setting(parsed.get("http_pins"), origin, consulted)
    if _base is not None:
        return dataclasses.replace(_base, **parsed)
    return Settings(**parsed)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("config file not found", key=CONFIG_ENV, source=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        # TOML is UTF-8 text: undecodable bytes are as invalid as a syntax error.
        raise ConfigError(
            f"config file is not valid TOML: {exc}", key=CONFIG_ENV, source=str(path)
        ) from None
    except OSError as exc:  # a folder, no permission, an I/O error
        raise ConfigError(
            f"config file cannot be read: {exc.strerror or exc}", key=CONFIG_ENV, source=str(path)
        ) from None
    # A [makerates] table is accepted so the file can live beside other tools' settings.
    section = data.get("makerates", data)
    if not isinstance(section, dict):
        raise ConfigError("config file must hold a table of settings", source=str(path))
    return section
