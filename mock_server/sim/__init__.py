"""The simulation: the virtual clock, lifecycles, scenarios, records and ids. Pure: no I/O,
no HTTP, no storage; the same seed and clock moves give the same run."""
