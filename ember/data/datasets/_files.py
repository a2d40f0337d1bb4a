"""Finding dataset files in a folder, and the error that says where to put which files."""

from __future__ import annotations

import os


def find_file(root: str, folders: list[str], names: list[str], dataset: str, hint: str) -> str:
    """The first of ``names`` that exists in ``root`` or one of its sub-``folders``; else a clear error."""
    root = os.fspath(root)
    candidates = [os.path.join(root, f) if f else root for f in folders]
    for folder in candidates:
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"{dataset}: none of {names} found in {candidates}. Put the files in {candidates[0]!r} "
        f"({hint}), or pass download=True on a machine that is online."
    )


def download(urls: list[str], dest: str, dataset: str) -> None:
    """Fetch the first URL that answers into ``dest`` (only when the user asked with download=True)."""
    import urllib.request

    os.makedirs(os.path.dirname(dest), exist_ok=True)
    errors = []
    for url in urls:
        try:
            tmp = dest + ".part"
            with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
                while chunk := r.read(1 << 20):
                    f.write(chunk)
            os.replace(tmp, dest)
            return
        except OSError as e:
            errors.append(f"{url}: {e}")
    raise RuntimeError(f"{dataset}: download failed (offline?):\n  " + "\n  ".join(errors))
