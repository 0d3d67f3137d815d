"""The client seam: a ``requests.Session`` that sends Google API traffic to the emulator,
so unmodified gspread (or any requests-based client) talks to it.

gspread's HTTPClient uses the session it is given as-is and only touches ``auth`` when it
has to build its own session, so ``gspread.Client(auth=AnonymousCredentials(),
session=emulator_session(host))`` needs no patching.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

GOOGLE_ORIGINS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class _RedirectingAdapter(HTTPAdapter):
    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def send(self, request, **kwargs):
        for origin in GOOGLE_ORIGINS:
            if request.url.startswith(origin):
                request.url = self.base + request.url[len(origin):]
                break
        return super().send(request, **kwargs)


def emulator_session(host: str) -> requests.Session:
    """``host`` is ``"127.0.0.1:PORT"``, as ``Emulator.host`` gives it."""
    session = requests.Session()
    # The emulator is local; a proxy from the environment must not intercept it.
    session.trust_env = False
    adapter = _RedirectingAdapter(f"http://{host}")
    for origin in GOOGLE_ORIGINS:
        session.mount(origin, adapter)
    session.mount(f"http://{host}", adapter)
    return session
