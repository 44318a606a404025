"""auglab's Hydra plugins, registered where Hydra looks for them.

Hydra instantiates sweepers and launchers only from the ``hydra_plugins`` namespace;
the code lives in ``auglab.sweeper`` and ``auglab.launchers``.
"""

from auglab import launchers, sweeper


class FaultTolerantSweeper(sweeper.FaultTolerantSweeper):
    __doc__ = sweeper.__doc__


class SubmititSlurmLauncher(launchers.SubmititSlurmLauncher):
    __doc__ = launchers.__doc__


class SubmititLocalLauncher(launchers.SubmititLocalLauncher):
    __doc__ = launchers.__doc__
