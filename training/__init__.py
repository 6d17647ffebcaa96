"""Offline code: data readers of the public data sets, training loops and evaluation."""
