"""``mlops-blueprint check``: the preflight, the policy pack and the field's scanners over a plan."""
