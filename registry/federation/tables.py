"""The federation's own bookkeeping table (created by a hand-written migration).

``federation_entity`` maps an entry of another instance, ``(origin, entity,
origin_id)``, to the local row that shows it, with the highest origin sequence number
applied to it. That number is what makes applying idempotent and order-proof: an entry
whose sequence number is not above it is a duplicate or a replay and changes nothing.

``owner`` is true when the mapping created the local row (a mirror); false when the
entry was merged into a row this instance or another origin already had (the same
repository reached from two instances), which the entry then never overwrites.
"""

from __future__ import annotations

from piccolo.columns import BigInt, Boolean, Integer, Serial, Varchar
from piccolo.table import Table


class FederationEntity(Table, tablename="federation_entity"):
    id = Serial(primary_key=True)
    origin = Varchar(length=500, null=False)
    entity = Varchar(length=40, null=False)
    origin_id = Varchar(length=100, null=False)
    local_id = Integer(null=True, default=None)
    owner = Boolean(default=True)
    last_seq = BigInt(default=0)
    deleted = Boolean(default=False)
    verified = Boolean(default=True)
    received_from = Varchar(length=500, default="")


def bind() -> None:
    """Bind the table to the engine the catalogue currently uses."""
    from registry.db import current_engine

    FederationEntity._meta.db = current_engine()
