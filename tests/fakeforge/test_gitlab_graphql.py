"""GitLab's GraphQL API (``POST /gitlab/api/graphql``): projects by global ID, a repository's
trees and the texts of ``Repository.blobs(paths:)``, GitLab's page size and complexity limits
and its error shape, and request counting with the REST endpoints."""

from __future__ import annotations

from typing import Any

import httpx

from fakeforge.app import FakeForge

GQL = "/gitlab/api/graphql"


async def _query(
    client: httpx.AsyncClient, query: str, **variables: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post(GQL, json={"query": query, "variables": variables})
    return response.status_code, response.json()


def _gid(app: FakeForge, path: str) -> str:
    repo = app.world.repo_by_path(path)
    assert repo is not None
    return f"gid://gitlab/Project/{repo.id}"


async def test_projects_by_id_give_their_trees_and_the_blobs_that_exist(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    status, body = await _query(
        client,
        """query($ids: [ID!], $paths: [String!]!) {
          projects(ids: $ids) {
            count
            nodes {
              id fullPath
              repository {
                rootRef
                tree { blobs { nodes { name path type } } trees { nodes { name path type } } }
                reuse: tree(path: "LICENSES") { blobs { pageInfo { hasNextPage } nodes { path } } }
                blobs(paths: $paths) { nodes { path name rawBlob size } }
              }
            }
          }
        }""",
        ids=[_gid(app, "codegouvfr/catalogi")],
        paths=["publiccode.yml", "LICENSE", "LICENSES", "LICENSES/MIT.txt"],
    )
    assert status == 200 and "errors" not in body
    projects = body["data"]["projects"]
    assert projects["count"] == 1
    (node,) = projects["nodes"]
    repo = app.world.repo_by_path("codegouvfr/catalogi")
    assert repo is not None
    assert node["id"] == f"gid://gitlab/Project/{repo.id}"
    assert node["fullPath"] == "codegouvfr/catalogi"
    repository = node["repository"]
    assert repository["rootRef"] == repo.default_branch
    # the REST tree of this project holds only the LICENSES directory
    assert repository["tree"]["blobs"]["nodes"] == []
    assert repository["tree"]["trees"]["nodes"] == [
        {"name": "LICENSES", "path": "LICENSES", "type": "tree"}
    ]
    reuse = [n["path"] for n in repository["reuse"]["blobs"]["nodes"]]
    assert reuse == sorted(p for p in repo.files if p.startswith("LICENSES/"))
    assert repository["reuse"]["blobs"]["pageInfo"] == {"hasNextPage": False}
    # only existing blobs are returned: not the directory, not the missing files
    blobs = repository["blobs"]["nodes"]
    assert [b["path"] for b in blobs] == ["LICENSES/MIT.txt"]
    for blob in blobs:
        assert blob["rawBlob"] == repo.files[blob["path"]]
        assert blob["size"] == str(len(repo.files[blob["path"]].encode()))  # BigInt
        assert blob["name"] == blob["path"].rsplit("/", 1)[-1]


async def test_connections_page_by_100_without_first_and_cut_a_larger_first(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    account = app.world.account("synth")
    assert account is not None
    ids = [f"gid://gitlab/Project/{r.id}" for r in account.repositories]
    assert len(ids) == 250
    query = """query($ids: [ID!], $first: Int, $after: String) {
      projects(ids: $ids, first: $first, after: $after) {
        count pageInfo { hasNextPage endCursor } nodes { id }
      }
    }"""
    seen: list[str] = []
    after = None
    while True:
        status, body = await _query(client, query, ids=ids, first=500, after=after)
        assert status == 200 and "errors" not in body
        page = body["data"]["projects"]
        assert page["count"] == 250 and len(page["nodes"]) <= 100
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(ids) and len(seen) == 250
    # newest project first, as ProjectsFinder orders them
    assert seen == sorted(seen, key=lambda g: int(g.rsplit("/", 1)[1]), reverse=True)
    status, body = await _query(client, query, ids=ids)
    assert len(body["data"]["projects"]["nodes"]) == 100


async def test_group_projects_include_subgroups(app: FakeForge, client: httpx.AsyncClient) -> None:
    query = """query($path: ID!, $sub: Boolean) {
      group(fullPath: $path) { fullPath projects(includeSubgroups: $sub) { count } }
    }"""
    _, nested = await _query(client, query, path="communs", sub=True)
    _, flat = await _query(client, query, path="communs", sub=False)
    assert nested["data"]["group"]["fullPath"] == "communs"
    assert nested["data"]["group"]["projects"]["count"] > flat["data"]["group"]["projects"]["count"]
    _, missing = await _query(client, query, path="no-such-group")
    assert missing == {"data": {"group": None}}


async def test_errors_have_gitlabs_shape(app: FakeForge, client: httpx.AsyncClient) -> None:
    status, body = await _query(client, "{ projects { nodes { bogus } } }")
    assert status == 200
    assert body == {"errors": [{"message": "Field 'bogus' doesn't exist on type 'Project'"}]}
    status, body = await _query(client, '{ projects(ids: ["42"]) { nodes { id } } }')
    assert body == {"errors": [{"message": '"42" does not represent an instance of Project'}]}
    # Repository.blobs adds one point per path: 300 paths are above the limit of 200
    paths = [f"file-{i}" for i in range(300)]
    status, body = await _query(
        client,
        "query($p: [String!]!) { projects { nodes { repository { blobs(paths: $p) "
        "{ nodes { path } } } } } }",
        p=paths,
    )
    assert status == 200 and "data" not in body
    (error,) = body["errors"]
    assert error["message"].startswith("Query has complexity of ")
    assert error["message"].endswith("which exceeds max complexity of 200")
    response = await client.post(GQL, content=b"not json")
    assert response.status_code == 422 and "errors" in response.json()


async def test_graphql_requests_are_counted_with_gitlabs(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    app.reset_stats()
    await _query(client, "{ projects(first: 1) { nodes { id } } }")
    await client.get("/gitlab/api/v4/groups/communs")
    assert app.stats.requests["gitlab POST /graphql"] == 1
    assert app.stats.requests["gitlab GET /groups/{id}"] == 1
    app.faults.add(forge="gitlab", path="/api/graphql", status=404)
    response = await client.post(GQL, json={"query": "{ projects { nodes { id } } }"})
    assert response.status_code == 404
