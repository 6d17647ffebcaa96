"""The linear-chain CRF over BIO labels: transitions, training loss and batched decoding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

# Transition scores that BIO forbids (O -> I-X, B-X -> I-Y) get this, so no path uses them.
FORBIDDEN = -10_000.0


def allowed_transitions(labels: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Which label may follow which (IOB2), and which may open a sequence, as 0/-inf biases."""
    size = len(labels)
    transitions = torch.zeros(size, size)
    start = torch.zeros(size)
    for target, label in enumerate(labels):
        if not label.startswith("I-"):
            continue
        start[target] = FORBIDDEN
        kind = label[2:]
        for source, previous in enumerate(labels):
            if previous[2:] != kind or previous == "O":
                transitions[source, target] = FORBIDDEN
    return transitions, start


class ConditionalRandomField(nn.Module):
    """A linear-chain CRF over words whose forbidden BIO transitions are fixed at -inf."""

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__()
        size = len(labels)
        self.transitions = nn.Parameter(torch.zeros(size, size))
        self.start = nn.Parameter(torch.zeros(size))
        self.end = nn.Parameter(torch.zeros(size))
        forbidden_transitions, forbidden_start = allowed_transitions(labels)
        self.register_buffer("forbidden_transitions", forbidden_transitions, persistent=False)
        self.register_buffer("forbidden_start", forbidden_start, persistent=False)

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        forbidden_transitions: torch.Tensor = self.forbidden_transitions  # type: ignore[assignment]
        forbidden_start: torch.Tensor = self.forbidden_start  # type: ignore[assignment]
        return self.transitions + forbidden_transitions, self.start + forbidden_start

    def _forward_scores(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        transitions, start = self._scores()
        alpha = start + emissions[:, 0]
        alphas = [alpha]
        for step in range(1, emissions.shape[1]):
            following = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1)
            alpha = torch.where(mask[:, step, None], following + emissions[:, step], alpha)
            alphas.append(alpha)
        return alphas

    def negative_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean over the batch of -log p(tags | words); ``mask`` marks real words."""
        transitions, start = self._scores()
        alphas = self._forward_scores(emissions, mask)
        log_partition = torch.logsumexp(alphas[-1] + self.end, dim=1)
        gathered = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = start[tags[:, 0]] + gathered[:, 0]
        steps = transitions[tags[:, :-1], tags[:, 1:]] + gathered[:, 1:]
        score = score + (steps * mask[:, 1:]).sum(dim=1)
        lengths = mask.sum(dim=1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        score = score + self.end[last]
        return (log_partition - score).mean()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[tuple[int, float]]]:
        """The best valid label path of each sequence, with each word's marginal probability.

        On a GPU the three passes run as batched tensor steps where the emissions already
        are, and only the answer comes back to the host. On the CPU they run in NumPy: on
        arrays this small (a batch of windows by nine labels) a NumPy step costs a few
        microseconds where a torch step costs several times that (see
        ``benchmarks/viterbi_bench.py``).
        """
        with torch.no_grad():
            transitions, start = self._scores()
            if emissions.device.type == "cuda":
                return decode_paths_torch(transitions, start, self.end, emissions, mask)
            transitions_, start_, end_, emissions_ = (
                tensor.detach().to("cpu", torch.float64).numpy()
                for tensor in (transitions, start, self.end, emissions)
            )
        real = mask.detach().cpu().numpy().astype(bool)
        return decode_paths(transitions_, start_, end_, emissions_, real)


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    peak = values.max(axis=axis, keepdims=True)
    total = np.log(np.exp(values - peak).sum(axis=axis, keepdims=True)) + peak
    squeezed: np.ndarray = np.squeeze(total, axis=axis)
    return squeezed


def decode_paths(
    transitions: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    emissions: np.ndarray,
    real: np.ndarray,
) -> list[list[tuple[int, float]]]:
    """Viterbi paths and forward-backward marginals of a linear-chain CRF.

    ``emissions`` is (batch, steps, labels), ``real`` (batch, steps) marks each sequence's
    words, which come first. Returns, per sequence, (label, marginal) for each real word.
    """
    batch, steps, size = emissions.shape
    if steps > 1 and (real[:, 1:] & ~real[:, :-1]).any():
        raise ValueError("each sequence's real words must come first (the mask is a prefix)")
    lengths = real.sum(axis=1)
    alphas = np.empty_like(emissions)
    alphas[:, 0] = start + emissions[:, 0]
    for step in range(1, steps):
        following = _logsumexp(alphas[:, step - 1, :, None] + transitions, axis=1)
        alphas[:, step] = np.where(
            real[:, step, None], following + emissions[:, step], alphas[:, step - 1]
        )
    betas = np.empty_like(emissions)
    betas[:, steps - 1] = end
    for step in range(steps - 2, -1, -1):
        following = _logsumexp(
            transitions + (emissions[:, step + 1] + betas[:, step + 1])[:, None, :], axis=2
        )
        betas[:, step] = np.where(real[:, step + 1, None], following, end)
    log_partition = _logsumexp(alphas[:, -1] + end, axis=1)
    marginals = np.exp(alphas + betas - log_partition[:, None, None])

    best = start + emissions[:, 0]
    pointers = np.zeros((batch, max(steps - 1, 0), size), dtype=np.int64)
    for step in range(1, steps):
        candidates = best[:, :, None] + transitions
        pointers[:, step - 1] = candidates.argmax(axis=1)
        values = candidates.max(axis=1)
        best = np.where(real[:, step, None], values + emissions[:, step], best)
    label = (best + end).argmax(axis=1)
    path = np.zeros((batch, steps), dtype=np.int64)
    rows = np.arange(batch)
    for step in range(steps - 1, -1, -1):
        if step < steps - 1:
            # Walk back only once past the sequence's last word.
            label = np.where(step + 1 < lengths, pointers[rows, step, label], label)
        path[:, step] = label
    chosen = np.take_along_axis(marginals, path[:, :, None], axis=2)[:, :, 0]
    return [
        list(zip(path[row, :length].tolist(), chosen[row, :length].tolist(), strict=True))
        for row, length in enumerate(lengths.tolist())
    ]


def decode_paths_torch(
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    emissions: torch.Tensor,
    real: torch.Tensor,
) -> list[list[tuple[int, float]]]:
    """``decode_paths`` as batched tensor steps on the emissions' own device.

    Computes in float64 so the paths and marginals equal the NumPy ones; with nine labels
    the cost is the number of steps, not the arithmetic. Nothing waits on the device until
    the single copy of the answer (labels, marginals, lengths, mask check) at the end.
    """
    device = emissions.device
    emissions = emissions.detach().to(torch.float64)
    transitions, start, end = (
        tensor.detach().to(device, torch.float64) for tensor in (transitions, start, end)
    )
    real = real.detach().to(device, torch.bool)
    batch, steps, size = emissions.shape
    gaps = (real[:, 1:] & ~real[:, :-1]).any() if steps > 1 else real.new_zeros(())
    lengths = real.sum(dim=1)
    held = real[:, :, None]

    alphas = torch.empty_like(emissions)
    alpha = start + emissions[:, 0]
    alphas[:, 0] = alpha
    best = alpha
    pointers = torch.zeros((batch, max(steps - 1, 0), size), dtype=torch.int64, device=device)
    for step in range(1, steps):
        following = torch.logsumexp(alpha[:, :, None] + transitions, dim=1)
        alpha = torch.where(held[:, step], following + emissions[:, step], alpha)
        alphas[:, step] = alpha
        values, indices = (best[:, :, None] + transitions).max(dim=1)
        pointers[:, step - 1] = indices
        best = torch.where(held[:, step], values + emissions[:, step], best)

    betas = torch.empty_like(emissions)
    beta = end.expand(batch, size)
    betas[:, steps - 1] = beta
    for step in range(steps - 2, -1, -1):
        following = torch.logsumexp(
            transitions + (emissions[:, step + 1] + beta)[:, None, :], dim=2
        )
        beta = torch.where(held[:, step + 1], following, end)
        betas[:, step] = beta
    log_partition = torch.logsumexp(alpha + end, dim=1)

    label = (best + end).argmax(dim=1)
    path = torch.empty((batch, steps), dtype=torch.int64, device=device)
    path[:, steps - 1] = label
    for step in range(steps - 2, -1, -1):
        # Walk back only once past the sequence's last word.
        back = pointers[:, step].gather(1, label[:, None])[:, 0]
        label = torch.where(step + 1 < lengths, back, label)
        path[:, step] = label
    scores = (alphas + betas).gather(2, path[:, :, None])[:, :, 0]
    chosen = torch.exp(scores - log_partition[:, None])

    # One copy to the host: labels and lengths are small integers, exact in float64.
    answer = torch.cat((path.to(torch.float64), chosen, lengths[:, None].to(torch.float64)), dim=1)
    answer = torch.cat((answer.flatten(), gaps.to(torch.float64)[None])).cpu()
    if bool(answer[-1]):
        raise ValueError("each sequence's real words must come first (the mask is a prefix)")
    rows = answer[:-1].view(batch, 2 * steps + 1).tolist()
    decoded = []
    for row in rows:
        length = int(row[-1])
        labels = [int(label) for label in row[:length]]
        decoded.append(list(zip(labels, row[steps : steps + length], strict=True)))
    return decoded
