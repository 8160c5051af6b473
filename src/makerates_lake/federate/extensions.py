"""DuckDB extensions from the offline wheels only; nothing is ever downloaded.

DuckDB fetches extensions from the internet on ``INSTALL`` and on auto-load. Air-gapped
deployments (and these machines) have no internet, so a connection here:

* installs each extension from the file in its ``duckdb-extension-<name>`` wheel (a copy
  into ``extension_directory``), once per directory: a manifest of the wheel files'
  hashes lets later connections skip straight to ``LOAD``;
* turns auto-install and auto-load off, so a missing extension fails at once;
* points the extension repositories at a local folder that does not exist, so even an
  explicit ``INSTALL x`` typed into ``makerates sql`` fails locally instead of reaching out.

Order matters: iceberg needs avro, and the postgres wheel installs itself as
``postgres_scanner``, which is the name ``LOAD`` needs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import duckdb

from makerates_lake.federate.errors import ExtensionError
from makerates_lake.federate.sqltext import literal

EXTENSIONS: Final = ("avro", "iceberg", "httpfs", "postgres")
"""Wheels installed on every connection, in load order."""

_LOAD_NAME: Final = {"postgres": "postgres_scanner"}
_NO_REPOSITORY: Final = "no-download-repository"
MANIFEST: Final = "makerates-extensions.json"
"""What was installed into an extension directory, from which wheel file (by SHA-256)."""


def offline_config(
    extension_directory: Path,
) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB connection settings that keep extension handling on this machine.

    Args:
        extension_directory: Where wheel-installed extensions are copied (created if missing).
    """
    local_only = str(extension_directory / _NO_REPOSITORY)
    return {
        "extension_directory": str(extension_directory),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        # A local path that is never created: INSTALL without a file fails locally.
        "custom_extension_repository": local_only,
        "autoinstall_extension_repository": local_only,
    }


def load_offline(
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str] = EXTENSIONS,
    *,
    directory: Path | None = None,
) -> list[str]:
    """Install ``names`` from their wheels into ``directory`` unless already there; load them.

    ``directory`` must be ``con``'s ``extension_directory``. A manifest in it records, per
    extension, the DuckDB version and the SHA-256, size and mtime of the wheel file it was
    installed from: while those still match (a ``stat``, no hashing) and the installed
    file is present, nothing is copied. Otherwise the wheel file is hashed and, unless the
    manifest already records that content as installed, installed with ``FORCE``. DuckDB
    checks each file's signature on LOAD. Without ``directory`` there is no manifest and
    every extension is force-installed.

    Returns:
        The extensions copied into the directory by this call.

    Raises:
        ExtensionError: A wheel is not installed, or DuckDB cannot install or load it.
    """
    manifest_path = None if directory is None else directory / MANIFEST
    manifest = _read_manifest(manifest_path)
    version = duckdb.__version__
    if manifest.get("duckdb") != version:
        manifest = {"duckdb": version, "extensions": {}}
    recorded: dict[str, dict[str, object]] = manifest["extensions"]  # type: ignore[assignment]
    installed: list[str] = []
    for name in names:
        wheel_file = _wheel_file(name)
        stat = wheel_file.stat()
        entry = recorded.get(name, {})
        fresh = _still_installed(entry, stat.st_size, stat.st_mtime_ns)
        if not fresh:
            digest = _sha256(wheel_file)
            same = entry.get("sha256") == digest and _still_installed(
                {**entry, "size": stat.st_size}, stat.st_size, None
            )
            if not same:
                # Unknown or different content in the directory: replace it.
                _install(con, name, wheel_file, force=True)
                installed.append(name)
            entry = {
                "sha256": digest,
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "installed_path": _install_path(con, name),
            }
            recorded[name] = entry
        load_name = _LOAD_NAME.get(name, name)
        try:
            con.execute(f"LOAD {load_name}")
        except duckdb.Error as exc:
            raise ExtensionError(f"cannot load: {exc}", extension=load_name) from None
    if manifest_path is not None and (installed or manifest != _read_manifest(manifest_path)):
        _write_manifest(manifest_path, manifest)
    return installed


def _wheel_file(name: str) -> Path:
    """The ``.duckdb_extension`` file shipped in the ``duckdb-extension-<name>`` wheel."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "extensions" / f"v{duckdb.__version__}"
        candidate = candidate / f"{name}.duckdb_extension"
        if candidate.is_file():
            return candidate
    raise ExtensionError(
        f"the offline extension wheel is not installed: pip install "
        f"'duckdb-extension-{name}=={duckdb.__version__}'",
        extension=name,
    )


def _still_installed(entry: dict[str, object], size: int, mtime_ns: int | None) -> bool:
    """The manifest entry matches the wheel file's stat and its installed copy exists."""
    path = entry.get("installed_path")
    if entry.get("size") != size or not isinstance(path, str) or not Path(path).is_file():
        return False
    return mtime_ns is None or entry.get("mtime_ns") == mtime_ns


def _install(con: duckdb.DuckDBPyConnection, name: str, wheel_file: Path, *, force: bool) -> None:
    try:
        con.execute(f"{'FORCE ' if force else ''}INSTALL {literal(str(wheel_file))}")
    except duckdb.Error as exc:
        raise ExtensionError(f"cannot install from the wheel: {exc}", extension=name) from None


def _install_path(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "SELECT install_path FROM duckdb_extensions() WHERE extension_name = ?",
        [_LOAD_NAME.get(name, name)],
    ).fetchone()
    return None if row is None or not row[0] else str(row[0])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or half-written: treat as nothing installed
    return loaded if isinstance(loaded, dict) and isinstance(loaded.get("extensions"), dict) else {}


def _write_manifest(path: Path, manifest: dict[str, object]) -> None:
    # Write then rename, so a concurrent connect never reads half a manifest.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
