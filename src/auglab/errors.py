"""The one exception type that means "the user's configuration or data is wrong"."""


class ConfigError(ValueError):
    """Raised before training starts; the message names the problem and the fix.

    The train entry point turns it into a single line on stderr and removes the
    job directory Hydra created, so a typo never leaves half-written runs behind.
    """
