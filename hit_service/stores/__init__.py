"""The service's SQL, one store per aggregate; nothing else in ``hit_service`` writes SQL.

``accounts`` (accounts, ledger), ``hits`` (HIT types, HITs, request tokens), ``assignments``
(assignments, bonuses, blocks, messages), ``qualifications``, ``workers`` (the worker site's
reads), ``console`` (console users, projects, batches), ``batches`` (a batch's cancel,
duplicate rows and rows left out) and ``ledger`` (the ledger's pages, a batch's money, releasing
held money), ``hitflow`` (API HITs grouped by hitflow's batch annotation). Each store's
methods take an open connection (``Store.transaction()``), so a
domain class composes several in one transaction;
the domain classes reach them through the ``Store`` they are handed (``store.accounts``…).
"""

from __future__ import annotations

from hit_service.stores.accounts import AccountStore
from hit_service.stores.assignments import AssignmentStore
from hit_service.stores.batches import BatchStore
from hit_service.stores.console import ConsoleStore
from hit_service.stores.hitflow import HitflowStore
from hit_service.stores.hits import HitStore
from hit_service.stores.ledger import LedgerStore
from hit_service.stores.qualifications import QualificationStore
from hit_service.stores.workers import WorkerStore

__all__ = [
    "AccountStore",
    "AssignmentStore",
    "BatchStore",
    "ConsoleStore",
    "HitStore",
    "HitflowStore",
    "LedgerStore",
    "QualificationStore",
    "WorkerStore",
]
