"""Inference kernels the stages share: the backbone, precision and attention."""
