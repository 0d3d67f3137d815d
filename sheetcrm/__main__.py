"""The `sheetcrm` command's entry point (and `python -m sheetcrm`). It loads the command's
modules itself, so that Ctrl-C while they load (the first second of every command) ends it
with the same one line and exit status as Ctrl-C later on, not a Python traceback: nothing has
been read or written yet then."""

import sys


def run() -> None:
    try:
        from sheetcrm.cli import main
    except KeyboardInterrupt:
        from sheetcrm.i18n import _
        from sheetcrm.terminal import EXIT_INTERRUPTED, INTERRUPTED

        print(f"sheetcrm: {_(INTERRUPTED)}", file=sys.stderr)  # not for people: the program's name
        sys.exit(EXIT_INTERRUPTED)
    main()


if __name__ == "__main__":
    run()
