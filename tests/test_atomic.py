"""Atomic writes: the target appears whole, with the permissions any new file gets."""

import os
import stat

import pytest

from symderive.atomic import atomic_write_text


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_files_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write_text(tmp_path / "report.tex", "text")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == "text"
    assert [p.name for p in tmp_path.iterdir()] == ["report.tex"]
