"""Descriptor-based access to the files below one root folder, never through a symbolic link.

A checkout is input like any other: a pull request can commit a symbolic link where pipelinegen
writes (`deploy/cdk -> /home/you`, `x.tmp -> ../../.git/hooks/pre-commit`). So every folder below
the root is opened from its parent's descriptor with O_DIRECTORY|O_NOFOLLOW (openat(2)), and
every file with O_NOFOLLOW: a link anywhere below the root, at the file or at a folder on the way,
is refused instead of followed, and a folder swapped for a link after a check cannot redirect a
later write. New files are created with O_CREAT|O_EXCL|O_NOFOLLOW and get their mode from fchmod
on the descriptor, so nothing that was there before is ever written through. The root itself is
trusted: it is what the user named.

Only pipelinegen.output uses this module: it is the one place that writes into a repository.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePosixPath
from types import TracebackType

from pipelinegen.errors import UserError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC  # a FIFO must not block the read
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
_LINK_HINT = "pipelinegen reads and writes generated files only through real folders and files"


class NotRegular(UserError):
    """A generated path holds something other than a regular file (a link, a FIFO, a folder)."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what
        super().__init__(f"{path} is {what}, not a regular file", _LINK_HINT)


def io_error(path: str, error: OSError) -> UserError:
    """The UserError for an OSError at `path`: the path and the system's reason, no traceback."""
    return UserError(f"cannot write {path}: {error.strerror or error}")


def describe(mode: int) -> str:
    """What a file's st_mode says it is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "a special file (FIFO, socket or device)"


class Root:
    """Open folders below `path`, by POSIX path relative to it; use as a context manager (the
    descriptors are closed on exit)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        except OSError as error:
            raise UserError(f"cannot open {path}: {error.strerror or error}") from None
        self._folders: dict[str, int] = {"": self.descriptor}

    def __enter__(self) -> Root:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for descriptor in self._folders.values():
            os.close(descriptor)
        self._folders.clear()

    def folder(self, path: str, *, create: bool = False) -> int | None:
        """The descriptor of the folder at `path` ('' for the root); None when it does not
        exist and `create` is false. UserError when a part of it is a link or not a folder."""
        if path in self._folders:
            return self._folders[path]
        parent, name = _split(path)
        above = self.folder(parent, create=create)
        if above is None:
            return None
        try:
            descriptor = os.open(name, _FOLDER, dir_fd=above)
        except FileNotFoundError:
            if not create:
                return None
            descriptor = self._make(above, path, name)
        except OSError as error:
            raise self._refused(above, path, name, error) from None
        self._folders[path] = descriptor
        return descriptor

    def _make(self, above: int, path: str, name: str) -> int:
        try:
            with contextlib.suppress(FileExistsError):  # made meanwhile: opened and checked below
                os.mkdir(name, 0o777, dir_fd=above)
            return os.open(name, _FOLDER, dir_fd=above)
        except OSError as error:
            raise self._refused(above, path, name, error) from None

    @staticmethod
    def _refused(above: int, path: str, name: str, error: OSError) -> UserError:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            with contextlib.suppress(OSError):
                what = describe(os.stat(name, dir_fd=above, follow_symlinks=False).st_mode)
                return UserError(f"{path} is {what}, not a folder", _LINK_HINT)
        return io_error(path, error)

    def read(self, path: str) -> bytes | None:
        """The bytes of the regular file at `path`, or None when nothing is there.
        NotRegular when something else is; UserError when it cannot be read."""
        parent, name = _split(path)
        above = self.folder(parent)
        if above is None:
            return None
        try:
            descriptor = os.open(name, _READ, dir_fd=above)
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise NotRegular(path, "a symbolic link") from None
            raise UserError(f"cannot read {path}: {error.strerror or error}") from None
        with os.fdopen(descriptor, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise NotRegular(path, describe(mode))
            try:
                return file.read()
            except OSError as error:
                raise UserError(f"cannot read {path}: {error.strerror or error}") from None

    def exists(self, path: str) -> bool:
        """Whether anything (a link included) is at `path`."""
        parent, name = _split(path)
        above = self.folder(parent)
        if above is None:
            return False
        try:
            os.stat(name, dir_fd=above, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True


def create(folder: int, name: str, data: bytes, mode: int) -> None:
    """A new file `name` in `folder` holding `data`, with `mode` (less the umask) set on its
    descriptor. FileExistsError if anything, a link included, is already there."""
    descriptor = os.open(name, _NEW, 0o600, dir_fd=folder)
    try:
        os.fchmod(descriptor, mode & ~_umask())
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    except BaseException:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=folder)
        raise
    os.close(descriptor)


def listing(folder: int) -> list[str]:
    """The names in the open `folder`, sorted (a descriptor, which pathlib cannot list)."""
    return sorted(os.listdir(folder))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _split(path: str) -> tuple[str, str]:
    pure = PurePosixPath(path)
    parent = pure.parent.as_posix()
    return ("" if parent == "." else parent), pure.name
