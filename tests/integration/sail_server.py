"""Sail's Spark Connect server in a process of its own, for the second-engine tests.

Run as a script by :class:`tests.integration.engines.SailServer`. Sail reads its catalog
settings (``SAIL_*``) when it starts and the AWS settings of its S3 client whenever it
opens a file, so they must stay in the environment for as long as it serves queries: a
child process holds them, and the test session's own environment never sees them.

Protocol: prints the port it listens on (one line), then serves until its standard input
closes, then stops the server.
"""

from __future__ import annotations

import sys

from pysail.spark import SparkConnectServer  # type: ignore[import-untyped]


def main() -> int:
    """Start the server on a free loopback port, print the port, serve until stdin closes."""
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    _host, port = server.listening_address
    print(port, flush=True)
    try:
        sys.stdin.read()  # EOF: the parent is done (or gone)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
