"""An emulator of the Google Sheets API v4 (plus the Drive v3 calls Sheets clients make),
for proving sheetcrm's Google path without reaching Google.

    from sheetcrm.emulator import Emulator
    from sheetcrm.emulator.session import emulator_session

    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", {"Contacts": [["Name", "Email"]]})
        client = gspread.Client(auth=AnonymousCredentials(), session=emulator_session(emu.host))
        client.open_by_key(sid)
"""

from .server import Emulator, RequestRecord, serve

__all__ = ["Emulator", "RequestRecord", "serve"]
