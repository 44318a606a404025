"""The exceptions that mean "the user can fix this", and turning any error into one line."""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised before training starts; the message names the problem and the fix.

    The train entry point turns it into a single line on stderr and removes the
    job directory Hydra created, so a typo never leaves half-written runs behind.
    """


class Diverged(RuntimeError):
    """The training loss became non-finite or exploded past ``DivergenceGuard.max_loss``: the
    job stops at once and is recorded ``diverged``."""


def one_line(err: BaseException) -> str:
    """The ConfigError behind ``err`` if any (OmegaConf and Hydra wrap them), else its root
    cause, on one line; errors whose message alone says little keep their type's name."""
    root = config_error(err) or root_cause(err)
    message = str(root)
    if "Traceback (most recent call last)" in message:  # a child process's error, relayed
        message = [line for line in message.splitlines() if line.strip()][-1]
    text = " ".join(message.split())
    if isinstance(root, ConfigError | Diverged):
        return text
    name = type(root).__name__
    return f"{name}: {text}" if text else name


def config_error(err: BaseException | None) -> ConfigError | None:
    # OmegaConf raises its own error "from None": the ConfigError is only in __context__.
    while err is not None and not isinstance(err, ConfigError):
        err = err.__cause__ or err.__context__
    return err


def root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err
