"""Folders and files that only this user can write: the compile cache, the compile locks, and
the key that seals what the cache holds.

A cache is only as trustworthy as the folder it lives in: compiled templates are code, and a
cache entry decides whether `compile --check` passes. So a folder is used only when it is a real
folder (not a link) owned by this user with no permission bits for group or others (0700, what
jinja2 demands of its own default cache folder), and a file only when it is a regular file owned
by this user that no one else can write. What the cache stores is sealed with an HMAC-SHA256
(RFC 2104) under a random key kept in the runtime folder; an entry whose seal does not verify,
made by hand or copied from elsewhere, is ignored.

The runtime folder is $XDG_RUNTIME_DIR/pipelinegen, else <temporary folder>/pipelinegen-<uid>.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
KEY_FILE = "cache-key"
KEY_BYTES = 32
SEAL_LENGTH = 64  # hex digits of an HMAC-SHA256


def folder(path: Path) -> Path | None:
    """`path`, made if missing (mode 0700), when it is a folder only this user can use; else
    None (a link, another owner, or it cannot be made). A folder of this user's with group or
    other permission bits is narrowed to 0700 first, like jinja2's default cache folder."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o077:
            path.chmod(0o700)  # our own folder, made under a loose umask: as jinja2 does
            info = path.lstat()
    except OSError:
        return None
    private = info.st_uid == os.geteuid() and not info.st_mode & 0o077
    return path if stat.S_ISDIR(info.st_mode) and private else None


def runtime() -> Path | None:
    """This user's private runtime folder (locks and the sealing key); None if unusable."""
    if base := os.environ.get("XDG_RUNTIME_DIR"):
        return folder(Path(base) / "pipelinegen")
    return folder(Path(tempfile.gettempdir()) / f"pipelinegen-{os.geteuid()}")


def read(file: Path) -> bytes | None:
    """The bytes of `file` if it is a regular file owned by this user that only this user can
    write (read without following a link); else None."""
    try:
        descriptor = os.open(file, _READ)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as opened:
        info = os.fstat(opened.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        try:
            return opened.read()
        except OSError:
            return None


def write(file: Path, data: bytes) -> bool:
    """Replace `file` (in a private folder) with `data`, atomically: a new file with an
    unpredictable name, mode 0600, renamed over it. False when that is not possible."""
    if folder(file.parent) is None:
        return False
    temporary = file.with_name(f".{file.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, _NEW, 0o600)
        with os.fdopen(descriptor, "wb") as opened:
            opened.write(data)
        temporary.replace(file)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return False
    return True


def seal(data: bytes) -> str | None:
    """The HMAC-SHA256 of `data` under this user's key (hex); None when there is no key."""
    key = _key()
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key is not None else None


def verify(data: bytes, sealed: object) -> bool:
    """Whether `sealed` is the seal of `data` (compared in constant time)."""
    expected = seal(data)
    if expected is None or not isinstance(sealed, str):
        return False
    return hmac.compare_digest(expected.encode(), sealed.encode("utf-8", errors="replace"))


@functools.cache
def _key() -> bytes | None:
    """The random key in the runtime folder, made on first use; None when it is unusable."""
    base = runtime()
    if base is None:
        return None
    file = base / KEY_FILE
    key = read(file)
    if key is None:
        try:
            descriptor = os.open(file, _NEW, 0o600)
        except FileExistsError:  # made meanwhile by another run, or not ours: read it again
            key = read(file)
        except OSError:
            return None
        else:
            with os.fdopen(descriptor, "wb") as opened:
                opened.write(key := secrets.token_bytes(KEY_BYTES))
    return key if key is not None and len(key) == KEY_BYTES else None
