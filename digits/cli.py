"""Command-line flags built from TrainConfig's fields: each option's default, help and check are declared
once, in digits.training, and train.py and the labs read them from there."""
import argparse
from dataclasses import MISSING, fields

from .training import TrainConfig


def checked(convert, check, flag):
    """An argparse type: convert the text, then apply the field's check, so a bad value is one line at the parser."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            kind = {int: "a whole number", float: "a number"}.get(convert, convert.__name__)
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        problem = check(value) if check else None
        if problem:
            raise argparse.ArgumentTypeError(f"{text}: {problem}")
        return value
    return parse


def add_config_arguments(parser, names=None, defaults=True):
    """Add a --flag for each TrainConfig field (or those in `names`). defaults=False leaves flags that were
    not given out of the parsed namespace: how train.py --resume tells what the user asked to change."""
    for f in fields(TrainConfig):
        if names is not None and f.name not in names:
            continue
        meta = dict(f.metadata)
        help_text, check = meta.pop("help"), meta.pop("check")
        default = f.default if f.default is not MISSING else None
        flag = "--" + f.name.replace("_", "-")
        options = {"default": default if defaults else argparse.SUPPRESS}
        if f.type in (bool, "bool"):
            if default:  # on by default: the flag turns it off
                parser.add_argument(f"--no-{f.name.replace('_', '-')}", dest=f.name, action="store_false",
                                    help=help_text, **options)
            else:
                parser.add_argument(flag, action="store_true", help=help_text, **options)
            continue
        convert = {"int": int, "float": float}.get(f.type if isinstance(f.type, str) else f.type.__name__, str)
        # %(default)s: the default as finally set (a lab's parameters cell replaces TrainConfig's)
        shown = ((" (default: %(default)s)" if defaults else f" (default: {default})")
                 if default is not None else "")
        parser.add_argument(flag, type=checked(convert, check, flag), help=help_text + shown, **options, **meta)
    return parser
