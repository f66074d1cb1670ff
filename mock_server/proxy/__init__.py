"""`apikley-mock proxy`: a validating reverse proxy in front of the real API (or any server)."""
