"""LibreOffice headless as the tests run it: `soffice(args, cwd)`, each run in a private profile
of its own (parallel or leftover LibreOffice instances never share state).

Each private profile is a copy of one made once per process (per xdist worker), whose registry
says this LibreOffice version has already started there. LibreOffice runs its graphics render
self-tests (GraphicsRenderTests.log) at every start whose profile records an older version
(Setup/Product/ooSetupLastVersion), and only the GUI's first start ever records it: every
headless run in a new profile ran them, about three quarters of a conversion's time (11 s of
a small file's 15 s on a loaded CI machine; the rest is building the profile, which the copy
saves too). They test the screen's drawing backend, not the files converted."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

# Any version LibreOffice could be: its check is "current major.minor > last".
_VERSION_SEEN = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">\
<value>999.9</value></prop></item>
</oor:items>
"""

_template: Path | None = None
_template_lock = threading.Lock()


def _run(profile: Path, args: list[str], cwd: Path | None) -> None:
    subprocess.run([shutil.which("soffice") or "soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    *args], cwd=cwd, check=True, capture_output=True, timeout=180)


def _profile_template() -> Path:
    """The profile every run copies: made by one real conversion, so the copy starts built."""
    global _template
    with _template_lock:
        if _template is None:
            root = Path(tempfile.mkdtemp(prefix="lo-template-"))
            atexit.register(shutil.rmtree, root, True)
            profile = root / "profile"
            (profile / "user").mkdir(parents=True)
            (profile / "user" / "registrymodifications.xcu").write_text(_VERSION_SEEN, encoding="utf-8")
            (root / "first.csv").write_text("a,1\n", encoding="utf-8")
            _run(profile, ["--convert-to", "xlsx", "--outdir", str(root / "out"), str(root / "first.csv")], root)
            _template = profile
    return _template


def soffice(args: list[str], cwd: Path | None = None) -> None:
    """`soffice --headless ARGS` in `cwd`, in a private profile; fails the test if it fails."""
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        shutil.copytree(_profile_template(), profile, dirs_exist_ok=True)
        _run(profile, args, cwd)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
