"""Exchanges that already happened, held to the checks: recorded files (HAR, VCR cassettes,
JSON bodies) read offline, and live traffic through the proxy, poll after poll."""
