"""A contract run against a live server: its options and client, the budget guard in its
transport, probes, a task's whole life, the callback receiver and the server it runs on,
and what the CLI shows while it works."""
