"""GitLab's repository tree and Gitea's batched ``file-contents``: the two calls that tell a
crawler which metadata files exist (and, on Gitea, give their texts) without a request per
file that may not be there."""

from __future__ import annotations

import base64
import json

import httpx

GL = "/gitlab/api/v4"
GT = "/gitea/api/v1"


async def _project_id(client: httpx.AsyncClient, path: str) -> int:
    response = await client.get(f"{GL}/projects/{path.replace('/', '%2F')}")
    assert response.status_code == 200
    return int(response.json()["id"])


async def test_gitlab_tree_lists_a_root_directory(client: httpx.AsyncClient) -> None:
    pid = await _project_id(client, "codegouvfr/catalogi")
    response = await client.get(f"{GL}/projects/{pid}/repository/tree", params={"per_page": 100})
    assert response.status_code == 200
    (entry,) = response.json()
    assert entry == {
        "id": entry["id"],
        "name": "LICENSES",
        "type": "tree",
        "path": "LICENSES",
        "mode": "040000",
    }
    assert response.headers["x-total"] == "1"


async def test_gitlab_tree_lists_root_files_by_name(client: httpx.AsyncClient) -> None:
    pid = await _project_id(client, "italia/developers-italia-api")
    entries = (await client.get(f"{GL}/projects/{pid}/repository/tree")).json()
    assert [(e["name"], e["type"], e["mode"]) for e in entries] == [
        ("LICENSE", "blob", "100644"),
        ("publiccode.yml", "blob", "100644"),
    ]
    assert all(set(e) == {"id", "name", "type", "path", "mode"} for e in entries)


async def test_gitlab_tree_of_a_subdirectory_and_recursive(client: httpx.AsyncClient) -> None:
    pid = await _project_id(client, "codegouvfr/catalogi")
    sub = (
        await client.get(f"{GL}/projects/{pid}/repository/tree", params={"path": "LICENSES"})
    ).json()
    assert {e["path"] for e in sub} == {
        "LICENSES/CC-BY-4.0.txt",
        "LICENSES/Etalab-2.0.md",
        "LICENSES/LicenseRef-Excluded.txt",
        "LICENSES/MIT.txt",
    }
    assert {e["type"] for e in sub} == {"blob"}
    everything = (
        await client.get(
            f"{GL}/projects/{pid}/repository/tree", params={"recursive": "true", "per_page": 100}
        )
    ).json()
    assert {e["path"] for e in sub} < {e["path"] for e in everything}
    # a blob's id is the Git object id of its text, as the files API reports it
    one = await client.get(
        f"{GL}/projects/{pid}/repository/files/LICENSES%2FMIT.txt", params={"ref": "HEAD"}
    )
    assert one.json()["blob_id"] == next(e["id"] for e in sub if e["name"] == "MIT.txt")


async def test_gitlab_tree_pages_and_refs(client: httpx.AsyncClient) -> None:
    pid = await _project_id(client, "italia/developers-italia-api")
    first = await client.get(f"{GL}/projects/{pid}/repository/tree", params={"per_page": 1})
    assert len(first.json()) == 1 and 'rel="next"' in first.headers["link"]
    unknown = await client.get(f"{GL}/projects/{pid}/repository/tree", params={"ref": "nope"})
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "404 Tree Not Found"}
    missing = await client.get(f"{GL}/projects/{pid}/repository/tree", params={"path": "nope"})
    assert missing.status_code == 200 and missing.json() == []
    gone = await client.get(f"{GL}/projects/999999999/repository/tree")
    assert gone.status_code == 404


async def test_gitea_file_contents_answers_each_path_in_order(client: httpx.AsyncClient) -> None:
    paths = ["LICENSES", "nope.txt", "LICENSES/MIT.txt"]
    response = await client.get(
        f"{GT}/repos/codegouvfr/catalogi/file-contents",
        params={"body": json.dumps({"files": paths})},
    )
    assert response.status_code == 200
    directory, missing, text = response.json()
    assert directory["type"] == "dir" and directory["content"] is None
    assert missing is None
    assert text["type"] == "file" and text["encoding"] == "base64"
    raw = await client.get(f"{GT}/repos/codegouvfr/catalogi/raw/LICENSES/MIT.txt")
    assert base64.b64decode(text["content"]) == raw.content
    # the same through POST, with the paths in the body
    posted = await client.post(
        f"{GT}/repos/codegouvfr/catalogi/file-contents", json={"files": paths}
    )
    assert posted.json() == response.json()


async def test_gitea_file_contents_limits_and_errors(client: httpx.AsyncClient) -> None:
    base = f"{GT}/repos/codegouvfr/catalogi/file-contents"
    many = await client.get(base, params={"body": json.dumps({"files": ["x"] * 40})})
    assert len(many.json()) == 30
    bad = await client.get(base, params={"body": "{not json"})
    assert bad.status_code == 400
    no_files = await client.get(base, params={"body": json.dumps({"paths": []})})
    assert no_files.status_code == 400
    unknown_ref = await client.get(
        base, params={"body": json.dumps({"files": ["README.md"]}), "ref": "nope"}
    )
    assert unknown_ref.status_code == 404
    # Forgejo has no such endpoint
    forgejo = await client.get(
        "/forgejo/api/v1/repos/codegouvfr/catalogi/file-contents",
        params={"body": json.dumps({"files": ["README.md"]})},
    )
    assert forgejo.status_code == 404
