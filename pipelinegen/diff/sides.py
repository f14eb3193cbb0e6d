"""Which two revisions to compare, and each side loaded from git or the working tree."""

from __future__ import annotations

from pathlib import Path

from pipelinegen.diff.compare import Side, load_side
from pipelinegen.diff.git import Git
from pipelinegen.errors import UserError
from pipelinegen.spec.repository import WorkingTree


def load_sides(spec: Path, *, base: str | None, head: str | None) -> tuple[Side, Side]:
    git = Git.around(spec.resolve())
    path = spec.resolve().relative_to(git.root).as_posix()
    folder = Path(path).parent.as_posix()
    head_side = _revision_side(git, head, path, folder) if head else _working_side(spec, path)
    base_commit = _base_commit(git, base, head_side)
    return _revision_side(git, base_commit, path, folder), head_side


def _working_side(spec: Path, path: str) -> Side:
    text = spec.read_text(encoding="utf-8") if spec.exists() else None
    return load_side(
        "working tree", text, spec_path=spec.name, file=path, repository=WorkingTree(spec.parent)
    )


def _revision_side(git: Git, rev: str, path: str, folder: str) -> Side:
    commit = git.resolve(rev)
    if commit is None:
        raise UserError(f"unknown revision '{rev}'", "name a branch, tag or commit git knows")
    repository = git.tree(commit, under=folder)
    label = rev if len(rev) < 40 else rev[:12]
    return load_side(
        label,
        git.show(commit, path),
        spec_path=Path(path).name,
        file=f"{path}@{label}",
        repository=repository,
    )


def _base_commit(git: Git, base: str | None, head: Side) -> str:
    """--base, else the merge base with the default branch (remote first), else HEAD."""
    if base:
        return base
    branch = head.spec.github.default_branch if head.spec else "main"
    for candidate in (f"origin/{branch}", branch):
        if git.resolve(candidate):
            found = git.merge_base("HEAD", candidate)
            if found:
                return found
    return "HEAD"
