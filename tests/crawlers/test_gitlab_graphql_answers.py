"""How the GitLab adapter reads its GraphQL files query's answer: which projects it trusts,
and which it sends to REST (an error naming the project, a missing repository, a tree longer
than one page), and a whole answer it refuses."""

from __future__ import annotations

from typing import Any

from crawlers.forges.base import MAX_FILE_BYTES
from crawlers.forges.gitlab import _answered_nodes, _read_node


def _entries(*paths: str, more: bool = False) -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": more}, "nodes": [{"path": p} for p in paths]}


def _node(pid: int, **repository: Any) -> dict[str, Any]:
    repo: dict[str, Any] = {
        "tree": {"blobs": _entries("README.md", "LICENSE"), "trees": _entries("src")},
        "reuse": {"blobs": _entries()},
        "blobs": {"nodes": [{"path": "LICENSE", "rawBlob": "MIT License\n", "size": "12"}]},
    }
    repo.update(repository)
    return {"id": f"gid://gitlab/Project/{pid}", "repository": repo}


def test_a_complete_node_gives_the_files_wanted_and_their_texts() -> None:
    assert _read_node(_node(7)) == (7, (["LICENSE"], {"LICENSE": "MIT License\n"}))


def test_a_reuse_directory_and_an_unusual_name_are_wanted_without_text() -> None:
    node = _node(
        8,
        tree={
            "blobs": _entries("publiccode.yml", "COPYING.GPL-3"),
            "trees": _entries("LICENSES"),
        },
        reuse={"blobs": _entries("LICENSES/MIT.txt")},
        blobs={"nodes": [{"path": "publiccode.yml", "rawBlob": "name: x\n", "size": 8}]},
    )
    pid, read = _read_node(node)
    assert pid == 8 and read is not None
    wanted, texts = read
    assert wanted == ["publiccode.yml", "COPYING.GPL-3", "LICENSES/MIT.txt"]
    assert texts == {"publiccode.yml": "name: x\n"}  # the other two are read raw


def test_incomplete_answers_send_the_project_to_rest() -> None:
    assert (
        _read_node(_node(9, tree={"blobs": _entries("LICENSE", more=True), "trees": _entries()}))[1]
        is None
    )
    assert _read_node({"id": "gid://gitlab/Project/9", "repository": None}) == (9, None)
    listed = _node(9, tree={"blobs": _entries(), "trees": _entries("LICENSES")}, reuse=None)
    assert _read_node(listed) == (9, None)
    assert _read_node({"id": "gid://gitlab/Group/9"}) == (None, None)


def test_no_tree_at_head_reads_nothing_and_a_large_text_is_not_kept() -> None:
    assert _read_node(_node(10, tree=None)) == (10, ([], {}))
    big = str(MAX_FILE_BYTES + 1)
    node = _node(11, blobs={"nodes": [{"path": "LICENSE", "rawBlob": "x", "size": big}]})
    assert _read_node(node) == (11, (["LICENSE"], {"LICENSE": None}))


def test_errors_naming_a_project_drop_it_others_refuse_the_answer() -> None:
    nodes = [_node(1), _node(2)]
    answer = {
        "data": {"projects": {"nodes": nodes}},
        "errors": [{"message": "Ref is not valid", "path": ["projects", "nodes", 1, "repository"]}],
    }
    assert _answered_nodes(answer) == [nodes[0], None]
    refused = {"errors": [{"message": "Query has complexity of 300, which exceeds max ..."}]}
    assert _answered_nodes(refused) is None
    top_level = {"data": {"projects": {"nodes": nodes}}, "errors": [{"message": "Timeout"}]}
    assert _answered_nodes(top_level) is None
    assert _answered_nodes({"data": {"projects": None}}) is None
    assert _answered_nodes([]) is None
