"""Repository roots and stable places: the names SARIF gives files, from any directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsecops.paths import SRCROOT, Place, SourceRoots, git_top_level, source_root


def test_uris_are_percent_encoded_per_rfc_3986():
    assert (
        Place(SRCROOT, "my project#1/requirements.txt").uri == "my%20project%231/requirements.txt"
    )
    assert Place(SRCROOT, "models/model_100%.pkl").uri == "models/model_100%25.pkl"
    # A ':' in a first segment would read as a scheme; '?' would start a query.
    assert Place(SRCROOT, "v1:final.pkl").uri == "v1%3Afinal.pkl"
    assert Place(SRCROOT, "a?b/c").uri == "a%3Fb/c"
    assert Place(SRCROOT, "données/modèle.pkl").uri == "donn%C3%A9es/mod%C3%A8le.pkl"
    assert Place(SRCROOT, "a-b_c.~d/e.txt").uri == "a-b_c.~d/e.txt"


def test_the_root_is_the_workspace_when_it_holds_the_project(tmp_path: Path):
    project = tmp_path / "ws" / "checkout" / "app"
    project.mkdir(parents=True)
    (tmp_path / "ws" / "checkout" / ".git").mkdir()
    assert source_root(project, workspace=tmp_path / "ws") == tmp_path / "ws"
    # Outside the workspace, the workspace cannot be its root: the git top level is.
    assert source_root(project, workspace=tmp_path / "elsewhere") == tmp_path / "ws" / "checkout"


def test_the_root_is_the_git_top_level_else_the_scanned_directory(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "sub" / "deeper").mkdir(parents=True)
    (repo / ".git").write_text("gitdir: /elsewhere/worktrees/repo\n")  # a worktree's .git file
    assert git_top_level(repo / "sub" / "deeper") == repo
    assert source_root(repo / "sub") == repo
    plain = tmp_path / "plain"
    plain.mkdir()
    if git_top_level(plain) is None:  # the machine's temp dir is not inside a git checkout
        assert source_root(plain) == plain


def test_a_place_is_the_same_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    roots = SourceRoots.of_scan(repo)
    monkeypatch.chdir(repo)
    here = roots.place("models/a.pkl")
    monkeypatch.chdir(tmp_path)
    assert roots.place("repo/models/a.pkl") == here == Place(SRCROOT, "models/a.pkl")
    assert roots.place(str(repo / "models" / "a.pkl")) == here


def test_a_model_outside_the_repository_is_relative_to_the_model_root_given(tmp_path: Path):
    repo, temp = tmp_path / "repo", tmp_path / "runner-temp" / "verified"
    repo.mkdir()
    temp.mkdir(parents=True)
    (temp / "model.pkl").write_bytes(b"")
    inside = repo / "models"
    inside.mkdir()
    roots = SourceRoots.of_scan(repo, models=(inside, temp, temp / "model.pkl"))
    # Only the root outside the repository gets a base of its own (once).
    assert [(b.id, b.path) for b in roots.bases] == [(SRCROOT, repo), ("MODELROOT1", temp)]
    assert roots.bases[1].uri == temp.as_uri() + "/"
    assert roots.place(str(temp / "model.pkl")) == Place("MODELROOT1", "model.pkl")
    assert roots.place(str(inside / "x.pkl")) == Place(SRCROOT, "models/x.pkl")
    assert roots.place(str(tmp_path / "stray.pkl")) is None


def test_image_files_are_named_by_repo_path_else_file_name(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "images").mkdir(parents=True)
    inside, outside = repo / "images" / "app.tar", tmp_path / "out.tar"
    roots = SourceRoots.of_scan(
        repo, image_files=(("images/app.tar", inside), (str(outside), outside))
    )
    assert roots.image_label("images/app.tar") == "images/app.tar"
    assert roots.image_label(str(outside)) == "out.tar"
    assert roots.image_label("python:3.11-slim") == "python:3.11-slim"


def test_a_symlinked_spelling_of_the_root_still_matches(tmp_path: Path):
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    roots = SourceRoots(link)
    assert roots.place(str(real / "sub" / "f.txt")) == Place(SRCROOT, "sub/f.txt")


def test_display_path_is_relative_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    from mlsecops.paths import display_path

    real = tmp_path / "real"
    (real / "models").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.chdir(real)
    assert display_path(Path("models/a.pkl")) == "models/a.pkl"
    assert display_path(real / "models" / ".." / "b.pkl") == "b.pkl"
    assert display_path(Path()) == "."
    assert display_path(tmp_path / "other.pkl") == f"{tmp_path}/other.pkl"
    assert display_path(real / "models" / "a.pkl", base=real / "models") == "a.pkl"
    monkeypatch.chdir(link)  # entered through a link: the working directory is the real one
    assert display_path(Path("models/a.pkl")) == "models/a.pkl"
    assert display_path(link / "models" / "a.pkl") == f"{link}/models/a.pkl"
