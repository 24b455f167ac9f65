"""Preflight: what AWS itself would refuse or silently ignore in a plan, found before ``pulumi up``."""
