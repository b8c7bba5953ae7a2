"""scalinglaws: measure how a model family's error scales with data and model size."""

__version__ = "0.1.0"
