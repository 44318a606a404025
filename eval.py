"""Entry point: ``python eval.py DIR [options]``, the same as ``python -m auglab.evaluate``.

Tests a run's or a sweep's finished jobs on the corruption suite and other test sets and
adds the results to their records; ``python eval.py --help`` lists the options.
"""

from auglab.evaluate import cli

if __name__ == "__main__":
    cli()
