"""Preflight's I/O side: the command line, diff mapping and review composition, the GitHub App.

The checks themselves live in the pure `rules` package.
"""
