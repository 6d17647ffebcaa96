"""Pure, synchronous processing: decoding, cleaning and enrichment of article batches."""

__version__ = "0.1.0"
