"""The policy pack: guardrail rules written once, run by ``pulumi preview --policy-pack policies/``
(:mod:`.pack_adapter`, ``__main__.py``) and offline over the plan JSON (:mod:`.engine`).

Importing this package needs neither pulumi nor pulumi_policy; only :mod:`.pack_adapter` does.
"""
