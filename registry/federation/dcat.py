"""The catalogue as DCAT-AP (JSON-LD), for EU-level catalogues to harvest.

Each project is a ``dcat:Dataset`` (DCAT-AP 3 has no better class for software that
data.europa.eu harvests): title, description per language, publisher (``foaf:Agent``),
landing page, license (SPDX URI), keywords, modification date, one
``dcat:Distribution`` per repository (its URL as ``dcat:accessURL``) and its provenance:
the Communs instance it came from. Pages follow Hydra's ``PartialCollectionView``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from registry.tables import Project, Publisher, Repository

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dct:modified": {"@type": "xsd:dateTime"},
    "dcat:landingPage": {"@type": "@id"},
    "dcat:accessURL": {"@type": "@id"},
    "dct:license": {"@type": "@id"},
}
MAX_PAGE = 1000


def _spdx(expression: str) -> str | None:
    if expression and all(c.isalnum() or c in ".-+" for c in expression):
        return f"http://spdx.org/licenses/{expression}"
    return None


async def catalogue(
    base_url: str, name: str, *, offset: int = 0, limit: int = 200
) -> dict[str, Any]:
    """One page of the DCAT-AP catalogue of this instance (projects by id)."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    projects = (
        await Project.select()
        .order_by(Project.id)
        .offset(offset)
        .limit(limit)
        .output(load_json=True)
    )
    ids = [p["id"] for p in projects]
    publisher_ids = sorted({p["publisher"] for p in projects if p["publisher"]})
    publishers = {
        r["id"]: r
        for r in (
            await Publisher.select(
                Publisher.id, Publisher.name, Publisher.website, Publisher.slug
            ).where(Publisher.id.is_in(publisher_ids))
            if publisher_ids
            else []
        )
    }
    repositories: dict[int, list[str]] = {}
    if ids:
        for row in await Repository.select(Repository.project, Repository.url).where(
            Repository.project.is_in(ids)
        ):
            repositories.setdefault(row["project"], []).append(row["url"])
    total = await Project.count()
    datasets = [_dataset(base_url, p, publishers, repositories) for p in projects]
    page_url = f"{base_url}/api/v1/catalogue.dcat.jsonld"
    view: dict[str, Any] = {
        "@id": f"{page_url}?offset={offset}&limit={limit}",
        "@type": "hydra:PartialCollectionView",
    }
    if offset + limit < total:
        view["hydra:next"] = f"{page_url}?offset={offset + limit}&limit={limit}"
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/#catalogue",
        "@type": "dcat:Catalog",
        "dct:title": name,
        "foaf:homepage": base_url,
        "hydra:totalItems": total,
        "hydra:view": view,
        "dcat:dataset": datasets,
    }


def _dataset(
    base_url: str,
    project: dict[str, Any],
    publishers: dict[int, dict[str, Any]],
    repositories: dict[int, list[str]],
) -> dict[str, Any]:
    uri = f"{base_url}/projects/{quote(project['slug'])}"
    description = project["description"] if isinstance(project["description"], dict) else {}
    out: dict[str, Any] = {
        "@id": uri,
        "@type": "dcat:Dataset",
        "dct:identifier": project["slug"],
        "dct:title": project["name"],
        "dct:description": [
            {"@value": text, "@language": lang}
            for lang, text in sorted(description.items())
            if text
        ],
        "dcat:keyword": list(project["topics"] or [])
        if isinstance(project["topics"], list)
        else [],
        "dcat:landingPage": project["landing_url"] or uri,
        "dct:provenance": {"rdfs:label": project["origin"] or base_url},
        "dcat:distribution": [
            {"@type": "dcat:Distribution", "dcat:accessURL": url, "dct:format": "git"}
            for url in repositories.get(project["id"], [])
        ],
    }
    license_uri = _spdx(project["license_expression"] or "")
    if license_uri:
        out["dct:license"] = license_uri
    publisher = publishers.get(project["publisher"])
    if publisher:
        out["dct:publisher"] = {
            "@id": f"{base_url}/publishers/{quote(publisher['slug'])}",
            "@type": "foaf:Agent",
            "foaf:name": publisher["name"],
        }
    modified = project["updated_at"]
    if isinstance(modified, dt.datetime):
        out["dct:modified"] = modified.astimezone(dt.UTC).isoformat()
    return out
