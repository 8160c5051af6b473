"""DuckDB extensions from the offline wheels only; nothing is ever downloaded.

DuckDB fetches extensions from the internet on ``INSTALL`` and on auto-load. Air-gapped
deployments (and these machines) have no internet, so a connection here:

* installs each extension from its ``duckdb-extension-<name>`` wheel with
  :func:`duckdb_extensions.import_extension` (a file copy into ``extension_directory``);
* turns auto-install and auto-load off, so a missing extension fails at once;
* points the extension repositories at a local folder that does not exist, so even an
  explicit ``INSTALL x`` typed into ``makerates sql`` fails locally instead of reaching out.

Order matters: iceberg needs avro, and the postgres wheel installs itself as
``postgres_scanner``, which is the name ``LOAD`` needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import duckdb

from makerates_lake.federate.errors import ExtensionError

EXTENSIONS: Final = ("avro", "iceberg", "httpfs", "postgres")
"""Wheels installed on every connection, in load order."""

_LOAD_NAME: Final = {"postgres": "postgres_scanner"}
_NO_REPOSITORY: Final = "no-download-repository"


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


def load_offline(con: duckdb.DuckDBPyConnection, names: Sequence[str] = EXTENSIONS) -> None:
    """Install ``names`` from their wheels into ``con``'s extension directory and load them.

    Installing is a no-op when the same version is already in the directory.

    Raises:
        ExtensionError: A wheel is not installed, or DuckDB cannot load the extension.
    """
    from duckdb_extensions import import_extension

    for name in names:
        try:
            import_extension(name, con=con)
        except ModuleNotFoundError:
            raise ExtensionError(
                f"the offline extension wheel is not installed: pip install "
                f"'duckdb-extension-{name}=={duckdb.__version__}'",
                extension=name,
            ) from None
        except duckdb.Error as exc:
            raise ExtensionError(f"cannot install from the wheel: {exc}", extension=name) from None
        load_name = _LOAD_NAME.get(name, name)
        try:
            con.execute(f"LOAD {load_name}")
        except duckdb.Error as exc:
            raise ExtensionError(f"cannot load: {exc}", extension=load_name) from None
