"""auglab: how much do augmentation and regularisation buy, and at which dataset size?"""

from auglab.resolvers import register_resolvers

register_resolvers()

__version__ = "0.1.0"
