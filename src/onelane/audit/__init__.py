"""The hash-chained audit log: who changed what, and proof that nobody rewrote it."""

from onelane.audit.log import AuditRecord, append, records, verify

__all__ = ["AuditRecord", "append", "records", "verify"]
