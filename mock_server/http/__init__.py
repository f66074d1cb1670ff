"""HTTP: one pipeline for every operation, body readers, the one renderer, the control API
and the file host. Thin: parse, call one service method, render."""
