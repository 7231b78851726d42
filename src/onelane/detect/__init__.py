"""Detection: Sigma rules, correlations and behaviour baselines over identity activity."""
