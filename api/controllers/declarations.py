"""Reuse declarations: declare, change, withdraw, read with history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter

from api.auth import Principal, authenticate_request, require_user
from registry.services import declarations
from registry.services.declarations import Actor

Status = Literal["evaluating", "production", "stopped"]
Url = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https?://\S+)?$")]
Version = Annotated[str, msgspec.Meta(max_length=200)]
Contact = Annotated[str, msgspec.Meta(max_length=300)]
Comment = Annotated[str, msgspec.Meta(max_length=5000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class DeclarationCreate(msgspec.Struct, forbid_unknown_fields=True):
    publisher_id: Id
    project_id: Id
    version: Version = ""
    since: dt.date | None = None
    status: Status = "production"
    service_url: Url = ""
    contact: Contact = ""
    comment: Comment = ""


class DeclarationPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: Version | None = None
    since: dt.date | None = None
    status: Status | None = None
    service_url: Url | None = None
    contact: Contact | None = None
    comment: Comment | None = None


class DeclarationWithHistory(msgspec.Struct):
    declaration: declarations.Declaration
    history: list[declarations.HistoryEntry]


def actor_of(principal: NamedDependency[Principal | None]) -> Actor:
    user = require_user(principal)
    return Actor(
        user_id=user.user_id,
        name=user.actor,
        is_admin=user.is_admin,
        publisher_ids=frozenset(user.memberships),
    )


class DeclarationController(Controller):
    path = "/api/v1/declarations"
    tags = ["reuse declarations"]
    before_request = authenticate_request

    @get("/", operation_id="listDeclarations", summary="Reuse declarations")
    async def list_declarations(
        self,
        publisher: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
        project: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
        include_withdrawn: FromQuery[bool] = False,
    ) -> list[declarations.Declaration]:
        """Declarations of a publisher or of a project, newest first (at most 200)."""
        return await declarations.list_declarations(
            publisher_id=publisher, project_id=project, include_withdrawn=include_withdrawn
        )

    @post("/", operation_id="createDeclaration", summary="Declare that a publisher uses a project")
    async def create(
        self, data: JSONBody[DeclarationCreate], principal: NamedDependency[Principal | None]
    ) -> declarations.Declaration:
        """Members of the publisher (and admins) only. 409 when a current declaration
        exists; a withdrawn one is brought back."""
        actor = actor_of(principal)
        values = msgspec.structs.asdict(data)
        publisher_id = values.pop("publisher_id")
        project_id = values.pop("project_id")
        return await declarations.declare(actor, publisher_id, project_id, values)

    @get("/{declaration_id:int}", operation_id="getDeclaration", summary="A declaration")
    async def get_one(
        self, declaration_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)]
    ) -> DeclarationWithHistory:
        """The declaration and every state it went through, oldest first."""
        return DeclarationWithHistory(
            await declarations.get(declaration_id), await declarations.history(declaration_id)
        )

    @patch("/{declaration_id:int}", operation_id="updateDeclaration", summary="Change one")
    async def update(
        self,
        declaration_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
        data: JSONBody[DeclarationPatch],
        principal: NamedDependency[Principal | None],
    ) -> declarations.Declaration:
        """Only the fields sent change; the previous state stays in the history."""
        actor = actor_of(principal)
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        return await declarations.update(actor, declaration_id, values)

    @post(
        "/{declaration_id:int}/withdraw",
        operation_id="withdrawDeclaration",
        summary="Withdraw a declaration (kept, with its history)",
        status_code=200,
    )
    async def withdraw(
        self,
        declaration_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
        principal: NamedDependency[Principal | None],
    ) -> declarations.Declaration:
        return await declarations.withdraw(actor_of(principal), declaration_id)
