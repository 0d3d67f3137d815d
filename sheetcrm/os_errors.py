"""What an operating-system error means, in the catalogue's words.

Python's OSError says "[Errno 13] Permission denied: 'rodir/prev'": English whatever the
command's language, with a number and the path the message around it names already. Every
message that reports a file, folder or socket the system refused says the reason through
`os_problem` instead, so a Spanish command says "permiso denegado".
"""

from __future__ import annotations

import errno

from sheetcrm.i18n import N_, _

# The reasons a person can act on; another errno keeps the system's own words (its strerror,
# without the number and the path).
_REASONS = {
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("permission denied"),
    errno.ENOENT: N_("no such file or folder"),
    errno.ENOTDIR: N_("a part of the path is not a folder"),
    errno.EISDIR: N_("it is a folder"),
    errno.EEXIST: N_("it already exists"),
    errno.ENOSPC: N_("no space left on the disk"),
    errno.EDQUOT: N_("the disk quota is used up"),
    errno.EROFS: N_("the file system is read-only"),
    errno.ENAMETOOLONG: N_("the name is too long"),
    errno.ELOOP: N_("too many symbolic links"),
    errno.EMFILE: N_("too many open files"),
    errno.ENFILE: N_("too many open files"),
    errno.EBUSY: N_("the file is busy"),
    errno.EIO: N_("input/output error"),
    errno.EADDRINUSE: N_("the address is already in use"),
    errno.EADDRNOTAVAIL: N_("the address is not one of this machine's"),
    errno.ECONNREFUSED: N_("connection refused"),
    errno.ECONNRESET: N_("the other side broke off the connection"),
    errno.EHOSTUNREACH: N_("no route to the host"),
    errno.ENETUNREACH: N_("the network is unreachable"),
    errno.ETIMEDOUT: N_("timed out"),
}


def os_problem(e: BaseException) -> str:
    """The reason of `e` without its path, in the current language: "permission denied" for
    errno EACCES; for another OSError its strerror, the system's own words ("Stale file
    handle"); for any other exception its own text."""
    if isinstance(e, OSError):
        reason = _REASONS.get(e.errno) if e.errno is not None else None
        if reason is not None:
            return _(reason)
        return e.strerror or str(e) or type(e).__name__
    return str(e) or type(e).__name__
