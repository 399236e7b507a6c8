"""Federation endpoints: who this instance is, its signed feed, its DCAT-AP export."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from registry.federation import PROTOCOL_VERSION, dcat
from registry.federation.feed import DEFAULT_LIMIT, MAX_LIMIT, feed_page
from registry.federation.identity import Identity, load_identity
from registry.settings import Settings


class InstanceDescription(msgspec.Struct):
    name: str
    url: str
    public_key: str
    fingerprint: str
    protocol: int
    feed_url: str
    dcat_url: str


def identity_of(request: Request[Any, Any, Any]) -> Identity:
    """This instance's identity, loaded (or created) once per app."""
    state = request.app.state
    identity = state.get("federation_identity")
    if identity is None:
        settings: Settings = state.settings
        identity = state["federation_identity"] = load_identity(settings)
    return identity


class FederationController(Controller):
    tags = ["federation"]

    @get(
        "/.well-known/communs",
        operation_id="getInstanceDescription",
        summary="This instance's identity for federation",
    )
    async def describe(self, request: Request[Any, Any, Any]) -> InstanceDescription:
        """Name, URL, Ed25519 public key (and its fingerprint), protocol version, feed URL.
        A peer is added with the key read here, once its fingerprint is confirmed."""
        identity = identity_of(request)
        return InstanceDescription(
            name=identity.name,
            url=identity.url,
            public_key=identity.public_key,
            fingerprint=identity.fingerprint,
            protocol=PROTOCOL_VERSION,
            feed_url=f"{identity.url}/federation/feed",
            dcat_url=f"{identity.url}/api/v1/catalogue.dcat.jsonld",
        )

    @get("/federation/feed", operation_id="getFederationFeed", summary="Signed change feed")
    async def feed(
        self,
        request: Request[Any, Any, Any],
        after: int = Parameter(default=0, ge=0, description="Cursor: the previous page's next"),
        limit: int = Parameter(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """Changes this instance originated (signed by it) or relays (signed by their
        origin), in commit order after ``after``; ``next`` is the cursor to ask next.
        The page is signed too (``signature``): over ``after``, ``next``, ``more`` and
        every entry's position and envelope digest, so a puller checks one signature
        per page for this instance's own entries."""
        return await feed_page(identity_of(request), after, limit)

    @get(
        "/api/v1/catalogue.dcat.jsonld",
        operation_id="getCatalogueDcat",
        summary="The catalogue as DCAT-AP JSON-LD",
        media_type="application/ld+json",
    )
    async def dcat_catalogue(
        self,
        request: Request[Any, Any, Any],
        offset: int = Parameter(default=0, ge=0),
        limit: int = Parameter(default=200, ge=1, le=dcat.MAX_PAGE),
    ) -> dict[str, Any]:
        """One page of projects as ``dcat:Dataset`` entries with Hydra paging links."""
        identity = identity_of(request)
        return await dcat.catalogue(identity.url, identity.name, offset=offset, limit=limit)
