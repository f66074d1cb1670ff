"""Callback delivery: scheduled on the virtual clock, signed, sent, retried, journaled."""
