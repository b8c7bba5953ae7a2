"""The one base class of every error a user can cause (bad config, data, table, stored file).

The CLI prints these as one line naming the key, file or value, without a traceback; any other
exception is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input: the message names the key, file, column or value."""


class ConfigError(UserError):
    """The config is invalid; the message names the key and the offending value."""


class Preempted(Exception):
    """A job stopped by SIGTERM after saving its checkpoint: not done, resumable (checkpoint.py)."""
