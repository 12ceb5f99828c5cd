"""Word-level language-modelling corpora: Penn Treebank files and the Python reference docs.

Both go through one pipeline: lines of word tokens, ``"<eos>"`` appended to each line (as PyTorch's
word_language_model does), a vocabulary from the training split, token ids, and non-overlapping
windows of ``bptt`` tokens with targets shifted by one::

    x[i] = s[i·bptt : (i+1)·bptt],   y[i] = s[i·bptt + 1 : (i+1)·bptt + 1]

for the token stream ``s`` of a split (``N = ⌊(len(s) - 1)/bptt⌋`` windows; the remainder is
dropped).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from paper_repro._validate import check_fraction, check_int
from paper_repro.data.bundle import DataBundle, MissingDataError

EOS = "<eos>"
UNK = "<unk>"
PTB_FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}
_PYDOC_TOKEN = re.compile(r"\w+|[^\w\s]")


def build_vocab(lines: Sequence[Sequence[str]], max_size: int | None = None) -> list[str]:
    """Vocabulary of the training lines: ``["<eos>", "<unk>"]`` then words by frequency.

    Words are ordered by decreasing count, ties alphabetically; ``max_size`` (≥ 2) caps the total
    size, the dropped rare words being mapped to ``"<unk>"`` by :func:`encode`.
    """
    if max_size is not None:
        check_int("vocab_size", max_size, minimum=2)
    counts = Counter(word for line in lines for word in line)
    for special in (EOS, UNK):
        counts.pop(special, None)
    words = sorted(counts, key=lambda w: (-counts[w], w))
    vocab = [EOS, UNK, *words]
    return vocab if max_size is None else vocab[:max_size]


def encode(lines: Sequence[Sequence[str]], vocab: Sequence[str]) -> torch.Tensor:
    """Token-id stream (int64) of ``lines``, ``"<eos>"`` after each line, unknown → ``"<unk>"``."""
    index = {word: i for i, word in enumerate(vocab)}
    unk, eos = index[UNK], index[EOS]
    ids: list[int] = []
    for line in lines:
        ids.extend(index.get(word, unk) for word in line)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.int64)


def windows(stream: torch.Tensor, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping ``(x, y)`` windows ``(N, bptt)`` of a token stream, ``y`` shifted by one."""
    check_int("bptt", bptt, minimum=1)
    n = (stream.numel() - 1) // bptt
    if n < 1:
        raise ValueError(f"a split of {stream.numel()} tokens is too short for bptt={bptt}")
    x = stream[: n * bptt].reshape(n, bptt)
    y = stream[1 : n * bptt + 1].reshape(n, bptt)
    return x, y


def unigram_perplexity(
    train_tokens: torch.Tensor, heldout_tokens: torch.Tensor, vocab_size: int
) -> float:
    """Perplexity on ``heldout_tokens`` of the add-one unigram model fitted to ``train_tokens``::

        p(w) = (c(w) + 1) / (N + V),    PPL = exp(-(1/M) Σ_i log p(h_i))

    with ``c(w)`` the count of id ``w`` among the ``N`` training tokens, ``V = vocab_size`` and
    ``h_1 … h_M`` the held-out tokens. The baseline a language model must beat: a model that has
    learned nothing about context predicts at best the training frequencies.
    """
    check_int("vocab_size", vocab_size, minimum=1)
    train, heldout = train_tokens.reshape(-1), heldout_tokens.reshape(-1)
    if heldout.numel() == 0:
        raise ValueError("unigram_perplexity needs at least one held-out token")
    for name, ids in (("train_tokens", train), ("heldout_tokens", heldout)):
        if ids.numel() and not 0 <= int(ids.min()) <= int(ids.max()) < vocab_size:
            raise ValueError(f"{name} must hold ids in [0, {vocab_size})")
    counts = torch.bincount(train, minlength=vocab_size).double()
    log_p = torch.log((counts + 1.0) / (train.numel() + vocab_size))
    return math.exp(-float(log_p[heldout].mean()))


def language_model_bundle(
    name: str,
    train_lines: Sequence[Sequence[str]],
    test_lines: Sequence[Sequence[str]],
    *,
    bptt: int,
    vocab_size: int | None,
    meta: dict[str, object],
) -> DataBundle:
    """Vocabulary from ``train_lines``, then encoded and windowed train/test splits."""
    vocab = build_vocab(train_lines, vocab_size)
    train_stream, test_stream = encode(train_lines, vocab), encode(test_lines, vocab)
    train_x, train_y = windows(train_stream, bptt)
    test_x, test_y = windows(test_stream, bptt)
    unk = vocab.index(UNK)
    return DataBundle(
        name=name,
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        num_classes=len(vocab),
        task="language_model",
        meta={
            **meta,
            "vocab_size": len(vocab),
            "vocab": vocab,
            "bptt": bptt,
            "train_tokens": train_stream.numel(),
            "test_tokens": test_stream.numel(),
            "train_unk_fraction": float((train_stream == unk).double().mean()),
            "test_unk_fraction": float((test_stream == unk).double().mean()),
            "unigram_perplexity": unigram_perplexity(train_y, test_y, len(vocab)),
        },
    )


def read_ptb_lines(path: Path) -> list[list[str]]:
    """Whitespace-split words of every line of a PTB text file (``"<eos>"`` added by ``encode``)."""
    if not path.is_file():
        raise FileNotFoundError(f"Penn Treebank file not found: {path}")
    with path.open(encoding="utf-8") as f:
        return [line.split() for line in f]


def ptb_present(root: str | Path) -> bool:
    """Whether ``root`` holds the three Penn Treebank files of :data:`PTB_FILES`."""
    return all((Path(root) / name).is_file() for name in PTB_FILES.values())


def load_ptb(
    *,
    root: str | Path | None = None,
    bptt: int = 35,
    heldout: str = "test",
    vocab_size: int | None = None,
) -> DataBundle:
    """Penn Treebank from ``root/ptb.{train,valid,test}.txt`` (Mikolov's pre-processed files).

    The vocabulary is every word of the training file (10,000 with ``"<eos>"`` for the standard
    files), capped at ``vocab_size`` when given (so a model built for that size fits any copy);
    ``heldout`` chooses which of ``"test"`` and ``"valid"`` becomes ``test_x``/``test_y``.
    """
    if root is None:
        raise MissingDataError(
            "ptb needs the directory holding ptb.{train,valid,test}.txt", can_download=False
        )
    directory = Path(root)
    if not directory.is_dir():
        raise MissingDataError(
            f"Penn Treebank root directory not found: {directory}", can_download=False
        )
    if heldout not in ("test", "valid"):
        raise ValueError(f"heldout must be 'test' or 'valid', got {heldout!r}")
    train = read_ptb_lines(directory / PTB_FILES["train"])
    test = read_ptb_lines(directory / PTB_FILES[heldout])
    return language_model_bundle(
        "ptb",
        train,
        test,
        bptt=bptt,
        vocab_size=vocab_size,
        meta={"source": str(directory), "heldout": PTB_FILES[heldout]},
    )


def pydoc_lines() -> list[list[str]]:
    """Token lines of ``pydoc_data.topics.topics`` (topics in sorted key order).

    Each text line is lower-cased and split into word tokens (runs of ``\\w``: letters, digits,
    ``_``) and single punctuation marks (the text documents code: ``(``, ``.``, ``:`` carry much of
    its structure); all-digit tokens become ``"N"`` (the Penn Treebank convention); lines with no
    token are skipped.
    """
    from pydoc_data.topics import topics

    lines: list[list[str]] = []
    for key in sorted(topics):
        for text in topics[key].splitlines():
            tokens = ["N" if t.isdigit() else t for t in _PYDOC_TOKEN.findall(text.lower())]
            if tokens:
                lines.append(tokens)
    return lines


def load_pydoc(
    *, bptt: int = 35, vocab_size: int | None = 2000, test_fraction: float = 0.1
) -> DataBundle:
    """The English text of the Python reference documentation as a language-modelling corpus.

    The line sequence of :func:`pydoc_lines` is split contiguously: the last
    ``round(L · test_fraction)`` lines are the test split (no randomness, like PTB's contiguous
    splits). The vocabulary is capped at ``vocab_size`` words of the training split.
    """
    check_fraction("test_fraction", test_fraction)
    lines = pydoc_lines()
    n_test = round(len(lines) * test_fraction)
    if not 0 < n_test < len(lines):
        raise ValueError(f"test_fraction={test_fraction!r} leaves an empty split")
    return language_model_bundle(
        "pydoc",
        lines[: len(lines) - n_test],
        lines[len(lines) - n_test :],
        bptt=bptt,
        vocab_size=vocab_size,
        meta={"source": "pydoc_data.topics", "test_fraction": test_fraction},
    )
