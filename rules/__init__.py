"""Preflight's rule engine: pure functions from a repository snapshot to findings.

Nothing in this package talks to the network, reads the clock or imports the App (`bot`).
"""
