"""Audit: trace a value to the bytes it came from, as-of reads, diff, verify, access log."""

from makerates_lake.store.access_log import AccessLog, log_access

__all__ = ["AccessLog", "log_access"]
