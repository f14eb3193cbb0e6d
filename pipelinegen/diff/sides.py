"""Which two revisions to compare, each side loaded from git or the working tree, and the
generated files the head side has committed.

The base is never guessed: `--base`, else the merge base with the default branch. A shallow
clone (GitHub's default checkout is `fetch-depth: 1`) may not hold that merge base; then the
history is deepened from the `origin` remote until it does (`git fetch --deepen`, as far as
`--unshallow`), or, when that cannot be done, diff stops and prints the `git fetch` to run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from pipelinegen import naming
from pipelinegen.diff.compare import Side, load_side
from pipelinegen.diff.generated import NOT_A_FILE, Committed
from pipelinegen.diff.git import Git, GitTree
from pipelinegen.errors import UserError
from pipelinegen.spec.repository import WorkingTree

REMOTE = "origin"
DEEPEN_STEPS = (50, 200, 1000, 5000)  # commits per `git fetch --deepen`, then --unshallow
# What compile writes beyond the files it names: folders it owns, and the workflows' name glob.
GENERATED_FOLDERS = (naming.SCRIPTS_DIR, naming.STATE_DIR, naming.CDK_APP_DIR)
WORKFLOW_PREFIX = f"{naming.WORKFLOWS_DIR}/pipelinegen-"

Say = Callable[[str], None]


def load_sides(
    spec: Path, *, base: str | None, head: str | None, fetch: bool, say: Say
) -> tuple[Side, Side, Committed | None]:
    """Both sides, and what the head side has committed where compile writes (None when the
    head spec is missing or invalid: there is nothing to compare it with)."""
    git = Git.around(spec.resolve())
    path = spec.resolve().relative_to(git.root).as_posix()
    folder = Path(path).parent.as_posix()
    tree = git.tree(_commit(git, head), under=folder) if head else None
    head_side = _revision_side(tree, head, path) if tree and head else _working_side(spec, path)
    base_commit = _base_commit(git, base, head_side, fetch=fetch, say=say)
    base_side = _revision_side(git.tree(base_commit, under=folder), base or base_commit, path)
    if head_side.spec is None:
        return base_side, head_side, None
    wanted = sorted(head_side.files)
    if tree is not None:
        return base_side, head_side, _committed_at(tree, wanted)
    return base_side, head_side, _committed_in(git, spec.resolve().parent, wanted)


def _working_side(spec: Path, path: str) -> Side:
    text = spec.read_text(encoding="utf-8") if spec.exists() else None
    return load_side(
        "working tree", text, spec_path=spec.name, file=path, repository=WorkingTree(spec.parent)
    )


def _commit(git: Git, rev: str) -> str:
    commit = git.resolve(rev)
    if commit is None:
        hint = "name a branch, tag or commit git knows"
        if git.shallow():
            hint = f"this is a shallow clone; fetch it first: git fetch --depth=1 {REMOTE} {rev}"
        raise UserError(f"unknown revision '{rev}'", hint)
    return commit


def _revision_side(tree: GitTree, rev: str, path: str) -> Side:
    label = rev if len(rev) < 40 else rev[:12]
    return load_side(
        label,
        tree.git.show(tree.commit, path),
        spec_path=Path(path).name,
        file=f"{path}@{label}",
        repository=tree,
    )


def _base_commit(git: Git, base: str | None, head: Side, *, fetch: bool, say: Say) -> str:
    """--base, else the merge base of HEAD and the default branch (origin's, else local)."""
    if base:
        return _commit(git, base)
    branch = head.spec.github.default_branch if head.spec else "main"
    remote_ref = f"{REMOTE}/{branch}"
    candidate = next((c for c in (remote_ref, branch) if git.resolve(c)), None)
    if candidate is not None and (found := git.merge_base("HEAD", candidate)):
        return found
    shallow = git.shallow()
    if shallow and fetch and git.has_remote(REMOTE):
        say(f"shallow clone: fetching history from {REMOTE} to find the merge base with {branch}")
        found = _deepen(git, branch)
        if found:
            return found
    raise _no_merge_base(branch, candidate, shallow=shallow)


def _deepen(git: Git, branch: str) -> str | None:
    """Fetch the default branch and deepen the history step by step until HEAD and it meet."""
    refspec = f"+refs/heads/{branch}:refs/remotes/{REMOTE}/{branch}"
    ref = f"{REMOTE}/{branch}"
    if not git.fetch(f"--depth={DEEPEN_STEPS[0]}", REMOTE, refspec):
        return None
    for step in (*DEEPEN_STEPS, None):
        if found := git.merge_base("HEAD", ref):
            return found
        if not git.shallow():
            return None  # the whole history is here: they share none
        deepen = f"--deepen={step}" if step else "--unshallow"
        if not git.fetch(deepen, REMOTE, refspec):
            return None
    return git.merge_base("HEAD", ref)


def _no_merge_base(branch: str, candidate: str | None, *, shallow: bool) -> UserError:
    refspec = f"+refs/heads/{branch}:refs/remotes/{REMOTE}/{branch}"
    if shallow:
        return UserError(
            f"no merge base of HEAD and {REMOTE}/{branch} in this shallow clone: the history "
            "that joins them was not fetched, so there is nothing to compare with",
            f"fetch it, then run diff again: git fetch --no-tags --unshallow {REMOTE} {refspec}"
            " (or name the base: --base REV)",
        )
    if candidate is None:
        return UserError(
            f"cannot find the default branch: neither {REMOTE}/{branch} nor {branch} exists",
            f"fetch it: git fetch --no-tags {REMOTE} {refspec} (or name the base: --base REV)",
        )
    return UserError(
        f"HEAD and {candidate} have no common history, so there is no merge base to compare with",
        "name the base: --base REV",
    )


def _committed_at(tree: GitTree, paths: list[str]) -> Committed:
    """The head revision's files where compile writes, read from git (links are not read)."""
    full = {path: tree.prefix + path for path in paths}
    data = tree.git.read_many(
        tree.commit, [p for p in full.values() if p in tree.files and p not in tree.links]
    )
    files = {
        path: NOT_A_FILE if name in tree.links else _decode(data.get(name))
        for path, name in full.items()
    }
    extra = _extra((p[len(tree.prefix) :] for p in tree.files if p.startswith(tree.prefix)), paths)
    return Committed(files, extra)


def _committed_in(git: Git, root: Path, paths: list[str]) -> Committed:
    """The working tree's files where compile writes. A symbolic link anywhere on the way is
    not followed (a checkout could point one at any file on the machine)."""
    files = {path: _read_regular(root, path) for path in paths}
    # A tracked file compile deleted (an environment removed) is no longer among its files.
    tracked = [path for path in git.tracked(root) if os.path.lexists(root / path)]
    return Committed(files, _extra(tracked, paths))


def _read_regular(root: Path, path: str) -> str | None:
    target = root
    for part in path.split("/"):
        target = target / part
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            return None
        except OSError:
            return NOT_A_FILE
        if stat.S_ISLNK(mode):
            return NOT_A_FILE
    if not stat.S_ISREG(mode):
        return NOT_A_FILE
    try:
        return _decode(target.read_bytes())
    except OSError:
        return NOT_A_FILE


def _decode(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_A_FILE


def _extra(present: Iterable[str], generated: list[str]) -> tuple[str, ...]:
    """Files in what compile owns (its folders, `pipelinegen-*` workflows) it does not write."""
    expected = {*generated, naming.CDK_EXTENSION}  # the team's hook is theirs to keep
    found = [
        path
        for path in present
        if path not in expected
        and (
            path.startswith(WORKFLOW_PREFIX)
            or any(path.startswith(f"{folder}/") for folder in GENERATED_FOLDERS)
        )
    ]
    return tuple(sorted(found))
