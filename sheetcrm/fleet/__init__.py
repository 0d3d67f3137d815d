"""Many workbooks, one service: `sheetcrm run --fleet fleet.toml` (docs/scaling.md).

One concept per module: `settings` (the fleet file), `clock` (real or virtual time),
`budget` (Google's request quotas as token buckets), `scheduler` (which job runs next),
`status` (the state file `sheetcrm fleet status` reads), `runner` (the process itself).
"""
