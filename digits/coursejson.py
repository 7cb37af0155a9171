"""A fast reader for the course's data file, with the same results as json.load.

The file is gzip-compressed JSON [train_set, val_set, eval_set], each [imgs, labels]: imgs a list of
images, each a list of 784 numbers; labels a list of numbers. json.load makes a Python object of every
pixel, which for the full file takes many seconds and gigabytes. This reader instead

- decompresses the file in pieces in a background thread, each piece cut just after a `]`, so no
  image, label list or number straddles two pieces, and finds the piece's brackets there;
- walks the brackets against the course's layout (below), checking that only JSON whitespace and the
  single commas the layout needs lie between them; each run of images becomes one job;
- in a job (two run at once: NumPy and zlib do their bulk work without holding the GIL), finds the
  commas, checks that every image holds exactly 784 numbers, and reads the numbers through a
  vocabulary of the distinct number texts. A course file holds one text per pixel value, a few hundred
  at most, so each distinct text is parsed once, by the int()/float() json.load uses, and converted to
  float32 as np.asarray(json.load(...)[i][0], dtype=np.float32) converts it; every number in the
  file is then a vectorised table look-up of its bytes, and the commonest one (the background) a
  comparison;
- parses each label list, which is small, with json.loads itself.

Whatever it does not recognise (another layout, an empty image list, a number that is not JSON, a
vocabulary far larger than a course file's) makes read_course_json return None: the caller then uses
json.load, which is slow but exact about the error. Damaged gzip data raises as it does for json.load.
"""
import concurrent.futures
import gzip
import json
import queue
import re
import struct
import threading

import numpy as np

PIXELS = 784
SPLITS = 3
PIECE = 2 << 20             # bytes of text per piece: big enough for bulk work, small enough for malloc to reuse
BLOCK = 128                 # images a job reads at once: its arrays then stay in the processor's cache
SCAN = 1 << 20              # bytes searched for brackets at once, for the same reason
WORKERS = 2                 # jobs at once; more only adds memory on the two-core machines this targets
VOCABULARY_LIMIT = 1 << 16  # a course file needs a few hundred distinct numbers; far more is not one
WORD = 8                    # a number's text is keyed by its first three 8-byte words
KEY_BYTES = 3 * WORD
PAD = bytes(KEY_BYTES)      # after each piece, so reading a key's words never runs past the buffer
MAX_CARRY = 16 * PIECE      # text without a `]` kept before the reader gives up (memory stays bounded)

COMMA, OPEN, CLOSE = b",[]"
WHITESPACE = b" \t\n\r"     # JSON's whitespace; bytes.strip() without an argument accepts more
IS_WHITESPACE = np.zeros(256, bool)
IS_WHITESPACE[list(WHITESPACE)] = True
# A JSON number, optionally surrounded by whitespace; an int when it has neither fraction nor exponent.
NUMBER = re.compile(rb"[ \t\n\r]*(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)[ \t\n\r]*")
# MASKS[n] keeps the first n bytes of a little-endian word
MASKS = np.array([(1 << (8 * n)) - 1 for n in range(WORD)] + [(1 << 64) - 1], dtype=np.uint64)
# KEY_MASKS[w][n] keeps the bytes of word w that a text of n bytes covers
KEY_MASKS = np.array([[MASKS[min(max(n - w * WORD, 0), WORD)] for n in range(KEY_BYTES + 1)] for w in range(3)],
                     dtype=np.uint64)
# multipliers that scatter keys over hash-table slots (see _Table) and mix a key into one hash
MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], np.uint64)


class NotRecognised(Exception):
    """The file is not in the layout this reader handles; json.load should read it."""


def read_course_json(path):
    """Read a course file: a list of three (images, labels) pairs, the images float32 [N, 784] as
    np.asarray(json.load(...)[i][0], dtype=np.float32) gives them, the labels the list json.load gives.
    None when the file is not laid out as this reader expects (the caller then uses json.load).
    Raises what gzip raises for damaged or truncated data."""
    with _Pieces(path) as pieces, concurrent.futures.ThreadPoolExecutor(WORKERS) as jobs:
        parser = _Parser(jobs, _Images(pieces.size_hint))
        try:
            for text, length in pieces:
                parser.feed(_Piece(text, length))
            return parser.finish()
        except NotRecognised:
            return None
        finally:
            parser.cancel()


class _Piece:
    """Decompressed text ending just after a `]` (or the text after the last one), padded with zeros,
    with the positions and characters of its brackets."""

    def __init__(self, text, length):
        self.text, self.length = text, length
        self.bytes = np.frombuffer(text, np.uint8, count=length)
        # `[` and `]` are the bytes that are 0x59 but for bits 1 and 2 (so are `Y` and `_`, which the
        # walk then meets where it expects a bracket, and gives up on); a stretch at a time, so that
        # the temporary arrays stay in the processor's cache
        self.brackets = np.concatenate([np.flatnonzero((self.bytes[at:at + SCAN] & 0xF9) == 0x59) + at
                                        for at in range(0, length, SCAN)] or [np.zeros(0, np.intp)])
        self.kinds = self.bytes[self.brackets]
        # a JSON number never holds a zero byte; without them, a text's zero-padded words identify it
        self.has_zero_byte = text.find(0, 0, length) >= 0

    def between(self, start, end):
        """The text strictly between positions start and end, without JSON whitespace around it."""
        return self.text[start + 1:end].strip(WHITESPACE)


class _Pieces:
    """The decompressed text in pieces, produced by a background thread a piece or two ahead."""

    def __init__(self, path):
        self.path = path
        self.queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, name="course-json-reader", daemon=True)
        with open(path, "rb") as f:  # gzip's trailer: the text's length modulo 2**32, for a first guess
            f.seek(0, 2)
            f.seek(max(f.tell() - 4, 0))
            tail = f.read(4)
        self.size_hint = struct.unpack("<I", tail)[0] if len(tail) == 4 else 0

    def __enter__(self):
        self.thread.start()
        return self

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc):
        self.stop.set()
        while self.thread.is_alive():  # make room for a producer waiting to put a piece
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self.thread.join()

    def _put(self, item):
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _produce(self):
        try:
            carry = []  # text after the last `]` so far
            with gzip.open(self.path, "rb") as f:
                while not self.stop.is_set():
                    block = f.read(PIECE)
                    if not block:
                        break
                    cut = block.rfind(b"]") + 1
                    if not cut:  # no `]` in this block: all of it belongs to the next piece
                        carry.append(block)
                        if len(carry) * PIECE > MAX_CARRY:  # an image is a few kB: this is no course file
                            raise NotRecognised(f"no `]` in {MAX_CARRY >> 20} MB of text")
                        continue
                    text = b"".join((*carry, memoryview(block)[:cut], PAD))
                    carry = [block[cut:]]
                    if not self._put((text, len(text) - len(PAD))):
                        return
            text = b"".join((*carry, PAD))
            self._put((text, len(text) - len(PAD)))
            self._put(None)
        except BaseException as e:  # handed to the parser's thread, which raises it
            self._put(e)


class _Images:
    """Rows for the images of all three splits, filled in file order by the jobs.

    One allocation sized from the text's length (a number takes at least two bytes with its comma):
    pages never written take no memory, and the splits are slices of it, so nothing is copied at the
    end. When the guess is short (gzip records the length modulo 2**32) it grows, by copying."""

    def __init__(self, text_length):
        try:
            self.rows = np.empty((text_length // (2 * PIXELS) + 1, PIXELS), np.float32)
        except MemoryError:  # a system that refuses even unused address space: start small, grow
            self.rows = np.empty((1, PIXELS), np.float32)
        self.used = 0

    def reserve(self, count, wait):
        """Rows for `count` more images; `wait` finishes the jobs still writing before any copy."""
        if self.used + count > len(self.rows):
            wait()
            grown = np.empty((max(2 * len(self.rows), self.used + count), PIXELS), np.float32)
            grown[:self.used] = self.rows[:self.used]
            self.rows = grown
        start, self.used = self.used, self.used + count
        return start


class _Vocabulary:
    """The distinct number texts met so far and their float32 values, in a table for vectorised lookups.

    A text of up to 24 bytes is keyed by its three zero-padded 8-byte words (the text holds no zero
    byte, so the key is the text); longer ones (numbers with much whitespace around them, say) go
    through a dict. The table is open addressing with linear probing, a key's first slot given by its
    first word; a slot with an all-zero key is free (no text is empty). Jobs look up concurrently;
    adding takes a lock and publishes a new table, so a lookup never sees a half-built one."""

    def __init__(self):
        self.values = {}  # text -> float32 value
        self.lock = threading.Lock()
        self.table = _Table({})

    def value_of(self, text):
        """The float32 value of one number's text (whitespace included), parsed as json.load would."""
        value = self.values.get(text)
        if value is None:
            match = NUMBER.fullmatch(text)
            if not match:
                raise NotRecognised(f"not a JSON number: {text[:40]!r}")
            number = match.group(1)
            parsed = float(number) if match.group(2) or match.group(3) else int(number)
            try:  # the conversion np.asarray(images, dtype=np.float32) gives each of json.load's numbers
                value = np.asarray([parsed], dtype=np.float32)[0]
            except (OverflowError, ValueError):
                raise NotRecognised(f"{number!r} does not convert to float32 as json.load's would") from None
            self.values[text] = value
            if len(self.values) > VOCABULARY_LIMIT:
                raise NotRecognised("more distinct numbers than a course file has")
        return value

    def lookup(self, keys):
        """Values of the texts whose keys are the rows of `keys` [n, 3]; new texts are added."""
        values, found = self.table.find(keys)
        rounds = 0  # one round adds all new texts, unless two of them share a hash
        while not found.all():
            rounds += 1
            if rounds > 3:
                raise NotRecognised("number texts whose keys share a hash")
            missing = np.flatnonzero(~found)
            unknown = keys[missing]
            _, first = np.unique(_mix(unknown), return_index=True)
            with self.lock:  # another job may have added some of them meanwhile
                texts = [_text(*key) for key in unknown[first].tolist()]
                added = [text for text in texts if text not in self.values]
                for text in added:
                    self.value_of(text)
                if added:  # (list() copies the dict at once: a job may be adding a long text to it)
                    self.table = _Table({t: v for t, v in list(self.values.items()) if len(t) <= KEY_BYTES})
                table = self.table
            values[missing], found[missing] = table.find(unknown)
        return values


class _Table:
    """An open-addressing table of texts of up to 24 bytes, keyed by their three words, and their values.

    A key's first slot comes from its first word; collisions go to the next free slot, and `probes` is
    the longest such walk, so a lookup that has not found a key after that many slots knows it is absent.
    A slot whose key is all zeros is free: no text is empty."""

    def __init__(self, entries):
        self.entries = entries
        size = 1 << max(10, (4 * len(entries)).bit_length())  # at most a quarter full: short walks
        self.shift = np.uint64(65 - size.bit_length())
        self.mask = size - 1
        self.keys = np.zeros((3, size), np.uint64)
        self.values = np.zeros(size, np.float32)
        self.probes = 1
        if not entries:
            return
        keys = np.array([_words(text) for text in entries], np.uint64)
        for slot, key, value in zip(self._first_slots(keys[:, 0]).tolist(), keys, entries.values()):
            probes = 1
            while self.keys[0, slot]:
                slot, probes = (slot + 1) & self.mask, probes + 1
            self.keys[:, slot], self.values[slot] = key, value
            self.probes = max(self.probes, probes)

    def _first_slots(self, first_words):
        return ((first_words * MIX[0]) >> self.shift).astype(np.intp)

    def find(self, keys):
        """(values, found) for the keys, the rows of `keys` [n, 3]; values where not found are junk."""
        home = self._first_slots(keys[:, 0])
        values = self.values[home]
        found = self._holds(home, keys)
        pending = np.flatnonzero(~found) if self.probes > 1 and not found.all() else ()
        for probe in range(1, self.probes):
            if not len(pending):
                break
            slots = (home[pending] + probe) & self.mask
            hit = self._holds(slots, keys[pending])
            values[pending[hit]] = self.values[slots[hit]]
            found[pending[hit]] = True
            pending = pending[~hit]
        return values, found

    def _holds(self, slots, keys):
        """Whether each slot holds the key in the same row of `keys`."""
        same = self.keys[0][slots] == keys[:, 0]
        same &= self.keys[1][slots] == keys[:, 1]
        same &= self.keys[2][slots] == keys[:, 2]
        return same


def _mix(keys):
    """One 64-bit hash of each key (row of `keys`), to tell distinct keys apart cheaply."""
    hashes = keys[:, 0] * MIX[0]
    hashes ^= keys[:, 1] * MIX[1]
    hashes ^= keys[:, 2] * MIX[2]
    return hashes


def _words(text):
    """The three little-endian words of a text of up to 24 bytes, zero-padded."""
    return struct.unpack("<3Q", text.ljust(KEY_BYTES, b"\0"))


def _text(*words):
    return struct.pack("<3Q", *words).rstrip(b"\0")


class _Parser:
    """Walks the course layout from bracket to bracket, piece by piece, and hands runs of images to jobs.

    The layout, where `_` is optional JSON whitespace:
        _[_SPLIT_,_SPLIT_,_SPLIT_]_
        SPLIT  = [_IMAGES_,_LABELS_]
        IMAGES = [_IMAGE_,_IMAGE ... _]        at least one image
        IMAGE  = [_NUMBER_,_NUMBER ... _]      exactly 784 numbers (checked in the job)
        LABELS = [ ... ]                       no brackets inside: read with json.loads
    A piece ends just after a `]`, so the walk can pause there between two pieces; `state` says what
    comes next, `last` is the position of the previous bracket in the current piece (-1: none yet).
    """

    def __init__(self, jobs, images):
        self.jobs, self.images = jobs, images
        self.vocabulary = _Vocabulary()
        self.background = None  # (mask, word, value): see _choose_background
        self.state = "start"
        self.pending = []       # jobs not yet finished, oldest first
        self.splits = []        # (first row, row count, labels) of each finished split
        self.split_start = 0
        self.labels = None

    def feed(self, piece):
        if piece.has_zero_byte:
            raise NotRecognised("a zero byte in the text")
        self.piece, self.at, self.last = piece, 0, -1
        while self.at < len(piece.brackets):
            getattr(self, "_" + self.state)()
        if self.state == "end" and piece.between(self.last, piece.length):
            raise NotRecognised("text after the end of the layout")

    def finish(self):
        if self.state != "end":
            raise NotRecognised("the text ended inside the layout")
        self._wait()
        rows = self.images.rows
        return [(rows[start:start + count], labels) for start, count, labels in self.splits]

    def cancel(self):
        for job in self.pending:
            job.cancel()
        concurrent.futures.wait(self.pending)

    # --- the layout's steps ------------------------------------------------------------------------

    def _start(self):
        for _ in range(3):  # the whole file, the first split, its image list
            self._take(OPEN)
        self.state = "first_image"

    def _first_image(self):
        self._images()
        self.state = "after_image"

    def _after_image(self):
        # the next image ("," between the brackets: _images checks that) or the end of the image list
        if self._next() == OPEN:
            self._images()
        else:
            self._take(CLOSE)
            self.state = "labels"

    def _labels(self):
        opening = self._take(OPEN, between=b",")
        if self._next() != CLOSE:
            raise NotRecognised("brackets inside the label list")
        closing = self._take(CLOSE, between=None)
        try:
            self.labels = json.loads(self.piece.text[opening:closing + 1])
        except ValueError:
            raise NotRecognised("the label list is not JSON") from None
        self.state = "split_end"

    def _split_end(self):
        self._take(CLOSE)
        self.splits.append((self.split_start, self.images.used - self.split_start, self.labels))
        self.split_start = self.images.used
        self.state = "after_split"

    def _after_split(self):
        if len(self.splits) == SPLITS:
            self._take(CLOSE)
            self.state = "end"
        else:
            self._take(OPEN, between=b",")
            self._take(OPEN)
            self.state = "first_image"

    def _end(self):
        raise NotRecognised("text after the end of the layout")

    # --- brackets and what lies between them -----------------------------------------------------

    def _next(self):
        if self.at >= len(self.piece.brackets):
            raise NotRecognised("the layout breaks off")
        return self.piece.kinds[self.at]

    def _take(self, kind, between=b""):
        """Step over the next bracket, which must be `kind`, with only `between` (and whitespace)
        since the previous bracket (None: anything; the label list's content)."""
        if self._next() != kind:
            raise NotRecognised(f"expected {chr(kind)!r}")
        position = int(self.piece.brackets[self.at])
        if between is not None and self.piece.between(self.last, position) != between:
            raise NotRecognised(f"expected only {between!r} before {chr(kind)!r}")
        self.at, self.last = self.at + 1, position
        return position

    # --- images ------------------------------------------------------------------------------------

    def _images(self):
        """Hand the run of images starting at the next bracket, an image's `[`, to a job."""
        first = self.at
        opens, closes = self.piece.brackets[first::2], self.piece.brackets[first + 1::2]
        count = len(closes)
        opens = opens[:count]
        kinds = self.piece.kinds
        good = (kinds[first:first + 2 * count:2] == OPEN) & (kinds[first + 1:first + 2 * count:2] == CLOSE)
        if not count or not good[0]:
            raise NotRecognised("expected an image")
        count = int(np.argmin(good)) if not good.all() else count
        opens, closes = opens[:count], closes[:count]
        # before the first image: whitespace, and a comma if an image precedes it
        self._take(OPEN, between=b"," if self.state == "after_image" else b"")
        self._check_commas_between(closes[:-1], opens[1:])
        self.at, self.last = first + 2 * count, int(closes[-1])
        if self.background is None:
            self.background = self._choose_background(opens[0], closes[0])
        start = self.images.reserve(count, self._wait)
        while len(self.pending) > WORKERS:  # bound the pieces and scratch memory held by jobs
            self.pending.pop(0).result()
        self.pending.append(self.jobs.submit(self._read_images, self.piece, opens, closes, start))

    def _check_commas_between(self, closes, opens):
        """Only a comma, with optional whitespace, between each image's `]` and the next one's `[`."""
        gaps = opens - closes - 1
        text = self.piece.bytes
        tight = gaps == 1                                  # "],["
        if not (text[closes[tight] + 1] == COMMA).all():
            raise NotRecognised("expected a comma between images")
        spaced = gaps == 2                                 # "], [" as json.dump writes it
        after, before = text[closes[spaced] + 1], text[closes[spaced] + 2]
        if not (((after == COMMA) & IS_WHITESPACE[before]) | (IS_WHITESPACE[after] & (before == COMMA))).all():
            raise NotRecognised("expected a comma between images")
        other = (gaps != 1) & (gaps != 2)
        for close, open_ in zip(closes[other].tolist(), opens[other].tolist()):
            if self.piece.between(close, open_) != b",":
                raise NotRecognised("expected a comma between images")

    def _wait(self):
        while self.pending:
            self.pending.pop(0).result()

    def _read_images(self, piece, opens, closes, start):
        """A job: the values of the images between these brackets, into their rows."""
        for first in range(0, len(opens), BLOCK):
            self._read_block(piece, opens[first:first + BLOCK], closes[first:first + BLOCK], start + first)

    def _read_block(self, piece, opens, closes, start):
        """The values of a block of images, into their rows."""
        count = len(opens)
        commas = np.flatnonzero(piece.bytes[opens[0]:closes[-1]] == COMMA)
        commas += opens[0]
        # each image holds PIXELS - 1 commas, and one comma (checked by the walk) follows each image but
        # the last; rows of PIXELS - 1 commas, PIXELS apart, then line up with the images exactly when
        # each image holds PIXELS - 1
        if len(commas) != count * PIXELS - 1:
            raise NotRecognised("an image without 784 numbers")
        inner = np.lib.stride_tricks.as_strided(commas, (count, PIXELS - 1), (PIXELS * commas.itemsize,
                                                                              commas.itemsize))
        if not ((inner[:, 0] > opens).all() and (inner[:, -1] < closes).all()):
            raise NotRecognised("an image without 784 numbers")
        # the separator before each number: a comma, or for an image's first number its `[`
        before = np.empty(count * PIXELS, np.int64)
        before[0], before[1:] = opens[0], commas
        before[PIXELS::PIXELS] = opens[1:]  # in place of the commas between images
        # the 8 bytes after each separator (PAD keeps the last ones inside the buffer)
        first_words = np.ndarray((piece.length,), "<u8", piece.text, offset=1, strides=(1,))[before]
        rows = self.images.rows[start:start + count]
        mask, word, value = self.background
        rows.fill(value)
        np.bitwise_and(first_words, mask, out=first_words)
        rest = np.flatnonzero(first_words != word)  # the numbers that are not the background
        # a number ends at the comma after it (commas[k] for the k-th number), the last of an image at its `]`
        ends = commas[np.minimum(rest, len(commas) - 1)]
        last = rest % PIXELS == PIXELS - 1
        ends[last] = closes[rest[last] // PIXELS]
        rows.ravel()[rest] = self._values(piece, before[rest] + 1, ends)

    def _values(self, piece, starts, ends):
        """Values of the numbers whose texts span [starts, ends)."""
        lengths = ends - starts
        if not lengths.all():
            raise NotRecognised("an empty number")
        # each text's first three words (PAD keeps them inside the buffer), zeroed past its end
        keys = np.ndarray((piece.length + 1,), f"V{KEY_BYTES}", piece.text, strides=(1,))[starts]
        keys = keys.view(np.uint64).reshape(-1, 3)
        key_lengths = np.minimum(lengths, KEY_BYTES)
        for w in range(3):
            keys[:, w] &= KEY_MASKS[w][key_lengths]
        values = self.vocabulary.lookup(keys)
        if key_lengths.size and lengths.max() > KEY_BYTES:
            for i in np.flatnonzero(lengths > KEY_BYTES).tolist():
                values[i] = self.vocabulary.value_of(piece.text[starts[i]:ends[i]])
        return values

    def _choose_background(self, open_, close):
        """The commonest number text of the first image, with the comma after it: most pixels are
        background, so each job first compares every number's first word with it. Returns (mask, word,
        value): a text starts with the background's exactly when its first word, masked, is the word."""
        texts = self.piece.text[open_ + 1:close].split(b",")
        text = max(set(texts), key=texts.count)
        value = self.vocabulary.value_of(text)
        if len(text) >= WORD:  # too long to fit a word with its comma: no shortcut
            return np.uint64(0), np.uint64(1), value  # no masked word is 1
        length = len(text) + 1
        return MASKS[length], np.uint64(int.from_bytes(text + b",", "little")), value
