"""API keys: only their SHA-256 is stored; requests carry ``Authorization: Bearer <key>``."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from bentu.errors import ConfigError

__all__ = ["new_key", "hash_key", "add_key", "load_key_hashes", "KeyChecker"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
KEY_PREFIX = "bentu_"


def new_key() -> str:
    """A new random API key (256 bits, URL-safe)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The hex SHA-256 of a key, as stored in a keys file."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_key(path: str | Path) -> str:
    """Create a key, append its SHA-256 to ``path`` (created with mode 0600) and return the key."""
    path = Path(path)
    if path.exists():
        load_key_hashes(path)  # refuse to append to a file that is not a keys file
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(hash_key(key) + "\n")
    return key


def load_key_hashes(path: str | Path) -> frozenset[str]:
    """The key hashes in a keys file: one hex SHA-256 per line; ``#`` comments and blanks allowed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"API keys file {path} does not exist; create it with 'bentu keys new {path}'.",
            f"API 密钥文件 {path} 不存在；请用 'bentu keys new {path}' 创建。",
        )
    hashes = set()
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _HEX64.match(line):
            raise ConfigError(
                f"API keys file {path}, line {i}: expected a 64-character hex SHA-256 (written by "
                "'bentu keys new'), got something else. Keys files hold hashes, never keys.",
                f"API 密钥文件 {path} 第 {i} 行：应为 64 位十六进制 SHA-256（由 'bentu keys new' 写入），"
                "实际不是。密钥文件只保存哈希，不保存密钥本身。",
            )
        hashes.add(line)
    if not hashes:
        raise ConfigError(
            f"API keys file {path} holds no key hash; add one with 'bentu keys new {path}'.",
            f"API 密钥文件 {path} 中没有密钥哈希；请用 'bentu keys new {path}' 添加。",
        )
    return frozenset(hashes)


class KeyChecker:
    """Checks a presented key against the stored hashes in constant time per hash."""

    def __init__(self, hashes: frozenset[str]):
        self.hashes = tuple(hashes)

    def __call__(self, key: str | None) -> bool:
        if not key:
            return False
        digest = hash_key(key)
        ok = False
        for h in self.hashes:
            ok |= hmac.compare_digest(digest, h)
        return ok
