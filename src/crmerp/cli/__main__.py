"""``python -m crmerp.cli``: the ``crmerp`` command, where its script is not on PATH."""

from crmerp.cli import main

main()
