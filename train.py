"""Entry point: ``python train.py -m data.size=100,1000,10000 aug=on,off``.

Thin on purpose; the task lives in ``auglab.train`` (also ``python -m auglab.train``).
"""

from auglab.train import cli

if __name__ == "__main__":
    cli()
