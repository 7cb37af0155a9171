"""User-facing errors: one clear line that says what is wrong and what to do."""
import signal
import sys


class UserError(Exception):
    """A problem with the user's input or setup; its message is shown as one line, no traceback."""


class Diverged(UserError):
    """Training stopped because the loss blew up or stopped learning (digits.training.check_progress)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, a job scheduler, a closing terminal), handled like Ctrl-C."""


def terminate(signum, frame):
    raise Terminated()


def run_main(main):
    """Run an entry point's main(); a UserError becomes a one-line message and exit code 2, Ctrl-C or
    SIGTERM the message "interrupted" and the shell's code for that signal."""
    # Paddle installs a SIGTERM handler at import that prints a C++ stack dump; entry points import
    # Paddle before calling run_main, so this handler replaces it. Atomic writes and checkpoints
    # then clean up as on Ctrl-C.
    signal.signal(signal.SIGTERM, terminate)
    try:
        return main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as interrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT))
