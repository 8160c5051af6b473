"""Who, where and which code: the infrastructure columns of every bronze row."""

from __future__ import annotations

import functools
import getpass
import os
import socket
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


@functools.cache
def package_version() -> str:
    """The installed version of makerates_lake."""
    try:
        return version("makerates_lake")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@functools.cache
def pipeline_version() -> str:
    """The git commit of the running code when it is a checkout, else the package version.

    ``MAKERATES_PIPELINE_VERSION`` wins, so a deployment can stamp its own build id.
    """
    stamped = os.environ.get("MAKERATES_PIPELINE_VERSION")
    if stamped:
        return stamped
    source_dir = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH is intended
            cwd=source_dir,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"git:{commit}" if commit else f"v{package_version()}"


def current_host() -> str:
    """Host name of this machine."""
    return socket.gethostname()


def current_user() -> str:
    """The OS user running the process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return f"uid:{os.getuid()}"
