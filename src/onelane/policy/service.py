"""The decision point as the CLI and the HTTP API use it: policy + inventory + decision log."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from onelane.policy.decision import Decision
from onelane.policy.decision_log import BatchedLog, DecisionLog, DirectLog
from onelane.policy.enrich import Directory, InventoryDirectory
from onelane.policy.evaluator import Pdp
from onelane.policy.index import load_policy
from onelane.policy.loader import active_policy_dir
from onelane.store.db import Database
from onelane.types import Clock


class PolicyService:
    """Decides and logs: a decision is recorded before ``decide`` returns it."""

    def __init__(self, pdp: Pdp, log: DecisionLog, directory: Path) -> None:
        self.pdp = pdp
        self.log = log
        self.directory = directory

    @classmethod
    def open(
        cls,
        db: Database,
        clock: Clock,
        *,
        policy_dir: str | os.PathLike[str] | None = None,
        batched: bool = False,
        directory: Directory | None = None,
    ) -> PolicyService:
        """The active policy set (``policy_dir``, ``$ONELANE_POLICY`` or the bundled default)."""
        path = active_policy_dir(policy_dir)
        pdp = Pdp(load_policy(path), directory or InventoryDirectory(db, clock), clock)
        log: DecisionLog = BatchedLog(db) if batched else DirectLog(db)
        return cls(pdp, log, path)

    @property
    def revision(self) -> str:
        return self.pdp.policy.revision

    def decide(self, request: Mapping[str, Any], *, request_id: str | None = None) -> Decision:
        decision = self.pdp.decide(request, request_id=request_id)
        self.log.append(decision)
        return decision

    async def logged(self, decisions: Sequence[Decision]) -> None:
        """Resume once ``decisions`` are durable in the log."""
        await self.log.append_async(decisions)

    def close(self) -> None:
        self.log.close()
