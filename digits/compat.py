"""The Paddle versions this project runs on, and the one place where they differ.

One code base runs on Paddle 2.6.2 (AI Studio's Paddle 2 image), 3.0.0 (its Paddle 3 image) and the newest
3.x (tested: 3.3.1). Where Paddle 2.6 behaves differently, the difference gets a name here, with its cause,
and the code that needs it reads that name: no version strings compared anywhere else.

Differences the code handles without asking the version (so they need no name here):
- paddle.jit.save writes the graph as model.json under Paddle 3 (PIR) and as model.pdmodel under Paddle 2:
  paddle.jit.load takes the files' common prefix, and lab 09 serves whichever graph file exists;
- Paddle 2.6 creates an optimizer's accumulators (Adam's moments) at its first step: a state_dict loaded
  into a new optimizer waits until then, so it is empty when read back before a step.
"""
import re

import paddle


def paddle_version(version=None):
    """Paddle's version as a tuple of ints, e.g. (2, 6, 2); a development build ("0.0.0") counts as newest."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", paddle.__version__ if version is None else version)[:3])
    return (999,) if numbers == (0, 0, 0) else numbers


PADDLE = paddle_version()


def paddle_at_least(*version):
    """Whether the running Paddle is this version or newer: paddle_at_least(3) or paddle_at_least(2, 6, 2)."""
    return PADDLE >= version


# Paddle 2.6 pickles a CPU random generator's state as (device, seed, offset) only, without the position of
# its Mersenne Twister in the stream: unpickled, the state starts the stream at the seed again. Paddle 3
# pickles the whole engine. digits.runs.random_state works around it for checkpoints.
RNG_STATE_PICKLES_POSITION = paddle_at_least(3)
