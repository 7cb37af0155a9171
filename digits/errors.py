"""User-facing errors: one clear line that says what is wrong and what to do."""
import sys


class UserError(Exception):
    """A problem with the user's input or setup; its message is shown as one line, no traceback."""


def run_main(main):
    """Run an entry point's main(); a UserError becomes a one-line message and exit code 2."""
    try:
        return main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
