import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command starts: no traceback (cli.main handles the rest)
    sys.exit(130)

sys.exit(main())
