"""Word-level LSTM language model in the shape of PyTorch's ``examples/word_language_model``.

``tokens (B, T) → Embedding(V, emb) → Dropout → LSTM(emb, hidden, layers, dropout between layers)
→ Dropout → Linear(hidden, V) → logits (B, T, V)``. For V = 10,000 and the defaults
(200, 200, 2 layers) it has 4,653,200 parameters.

Deviation from word_language_model: every ``forward`` call starts from a zero hidden and cell state
(word_language_model carries the detached state across consecutive BPTT windows). Our data are
independent shuffled windows (``paper_repro.data``), so there is no previous window to carry from,
and a stateless forward makes the loss a pure function of the weights, which the loss-surface probes
need.
"""

from __future__ import annotations

import torch
from torch import nn

from paper_repro._validate import check_int, check_number


class LSTMLanguageModel(nn.Module):
    """Embedding → multi-layer LSTM → linear decoder, batch-first (see the module docstring).

    Initialisation (as word_language_model): embedding and decoder weights ``U(-0.1, 0.1)``, decoder
    bias 0; LSTM weights and biases PyTorch's default ``U(-1/√hidden, 1/√hidden)``.
    """

    def __init__(self, vocab_size: int, emb: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=1)
        check_int("emb", emb, minimum=1)
        check_int("hidden", hidden, minimum=1)
        check_int("layers", layers, minimum=1)
        if not 0 <= check_number("dropout", dropout) < 1:
            raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
        self.encoder = nn.Embedding(vocab_size, emb)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.LSTM(
            emb, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.decoder = nn.Linear(hidden, vocab_size)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, V)`` for token ids ``(B, T)``, from a zero initial state."""
        if tokens.dim() != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"lstm_lm expects integer token ids of shape (B, T), got shape "
                f"{tuple(tokens.shape)} and dtype {tokens.dtype}"
            )
        out, _ = self.rnn(self.drop(self.encoder(tokens)))
        logits: torch.Tensor = self.decoder(self.drop(out))
        return logits


def lstm_lm(
    vocab_size: int, emb: int = 200, hidden: int = 200, layers: int = 2, dropout: float = 0.0
) -> LSTMLanguageModel:
    """LSTM language model over ``vocab_size`` words (see :class:`LSTMLanguageModel`)."""
    return LSTMLanguageModel(vocab_size, emb, hidden, layers, dropout)
