"""Data files of the experiments: the default conclusions checked by ``robustness``."""
