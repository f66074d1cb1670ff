"""The rules a server is held to, as plain functions raising `CheckFailed`, and the one path
that runs them and records what they found (`verdicts`): responses, records and transitions,
callbacks, result media, and the report that names each failure with a reproducer."""
