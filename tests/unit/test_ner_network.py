"""Window planning, word shapes and BIO-constrained CRF decoding of the NER network."""

from __future__ import annotations

import itertools

import pytest
import torch

from pipeline.entities.crf import ConditionalRandomField, allowed_transitions, decode_paths_torch
from pipeline.entities.network import LABELS
from pipeline.entities.pieces import WINDOW_PIECES, case_class, plan_windows, word_shape


def test_word_shape_keeps_case_the_tokenizer_drops() -> None:
    assert word_shape("Lavrov", sentence_start=False) == "Xx"
    assert word_shape("NATO", sentence_start=False) == "X"
    assert word_shape("U.S.", sentence_start=True) == "^X.X."
    assert word_shape("2024", sentence_start=False) == "d"
    assert case_class("nato") != case_class("NATO") != case_class("Nato")


def test_plan_windows_packs_every_sentence_once_without_context() -> None:
    lengths = [40, 40, 40, 40, 40]
    windows = plan_windows(lengths, context=0)
    owned = [sentence for window in windows for sentence in window.owned]
    assert owned == [0, 1, 2, 3, 4]
    for window in windows:
        assert sum(lengths[window.first : window.end]) <= WINDOW_PIECES - 2


def test_plan_windows_with_context_overlaps_and_owns_each_sentence_once() -> None:
    lengths = [20] * 20
    windows = plan_windows(lengths, context=32)
    owned = sorted(sentence for window in windows for sentence in window.owned)
    assert owned == list(range(20))
    assert any(a.end > b.first for a, b in itertools.pairwise(windows))
    # A sentence inside an overlap is labelled by the window where it has context both sides.
    for window in windows[1:-1]:
        assert window.first not in window.owned


def test_crf_decoding_never_emits_an_inside_tag_without_its_start() -> None:
    crf = ConditionalRandomField(LABELS)
    inside_person = LABELS.index("I-PER")
    emissions = torch.full((1, 3, len(LABELS)), -5.0)
    # Each word alone would take I-PER, which is invalid after O or at the start.
    emissions[0, :, inside_person] = 5.0
    emissions[0, 0, LABELS.index("O")] = 4.0
    mask = torch.ones(1, 3, dtype=torch.bool)
    (path,) = crf.decode(emissions, mask)
    labels = [LABELS[label] for label, _ in path]
    assert labels[0] != "I-PER"
    for previous, current in itertools.pairwise(labels):
        if current.startswith("I-"):
            assert previous[2:] == current[2:]
    assert all(0.0 <= probability <= 1.0 for _, probability in path)


def test_crf_likelihood_prefers_the_gold_path_after_training_steps() -> None:
    torch.manual_seed(0)
    crf = ConditionalRandomField(LABELS)
    emissions = torch.zeros(2, 4, len(LABELS), requires_grad=True)
    tags = torch.tensor([[1, 2, 0, 5], [3, 4, 0, 0]])
    mask = torch.tensor([[True, True, True, True], [True, True, True, False]])
    optimizer = torch.optim.SGD([emissions, *crf.parameters()], lr=0.5)
    first = None
    for _ in range(30):
        loss = crf.negative_log_likelihood(emissions, tags, mask)
        first = first if first is not None else float(loss.detach())
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    assert float(loss.detach()) < first / 4
    paths = crf.decode(emissions.detach(), mask)
    assert [label for label, _ in paths[0]] == [1, 2, 0, 5]
    assert [label for label, _ in paths[1]] == [3, 4, 0]


def test_crf_decoding_matches_brute_force_enumeration() -> None:
    """Best path and per-word marginals equal those found by scoring every label sequence."""
    generator = torch.Generator().manual_seed(7)
    crf = ConditionalRandomField(LABELS)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    lengths = [4, 1, 3]
    emissions = torch.randn(len(lengths), max(lengths), len(LABELS), generator=generator)
    mask = torch.tensor([[step < length for step in range(max(lengths))] for length in lengths])
    with torch.no_grad():
        transitions, start = crf._scores()
        end = crf.end.clone()
    paths = crf.decode(emissions, mask)
    for row, length in enumerate(lengths):
        scores = {}
        for labels in itertools.product(range(len(LABELS)), repeat=length):
            score = start[labels[0]] + end[labels[-1]]
            score = score + sum(emissions[row, step, label] for step, label in enumerate(labels))
            score = score + sum(transitions[a, b] for a, b in itertools.pairwise(labels))
            scores[labels] = float(score)
        best = max(scores, key=scores.__getitem__)
        assert [label for label, _ in paths[row]] == list(best)
        partition = torch.logsumexp(torch.tensor(list(scores.values()), dtype=torch.float64), 0)
        for step, (label, marginal) in enumerate(paths[row]):
            inside = [s for labels, s in scores.items() if labels[step] == label]
            expected = torch.logsumexp(torch.tensor(inside, dtype=torch.float64), 0) - partition
            assert marginal == pytest.approx(float(expected.exp()), rel=1e-4, abs=1e-6)


def test_crf_decoding_refuses_a_mask_with_gaps() -> None:
    crf = ConditionalRandomField(LABELS)
    emissions = torch.zeros(1, 3, len(LABELS))
    with pytest.raises(ValueError, match="prefix"):
        crf.decode(emissions, torch.tensor([[True, False, True]]))


def _random_crf(seed: int) -> ConditionalRandomField:
    generator = torch.Generator().manual_seed(seed)
    crf = ConditionalRandomField(LABELS)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return crf


def _prefix_mask(lengths: list[int], steps: int) -> torch.Tensor:
    return torch.tensor([[step < length for step in range(steps)] for length in lengths])


def _decode_with_torch(
    crf: ConditionalRandomField, emissions: torch.Tensor, mask: torch.Tensor
) -> list[list[tuple[int, float]]]:
    with torch.no_grad():
        transitions, start = crf._scores()
        return decode_paths_torch(transitions, start, crf.end, emissions, mask)


def _assert_same_decoding(
    expected: list[list[tuple[int, float]]], actual: list[list[tuple[int, float]]]
) -> None:
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual, strict=True):
        assert [label for label, _ in got] == [label for label, _ in want]
        for (_, want_marginal), (_, got_marginal) in zip(want, got, strict=True):
            assert got_marginal == pytest.approx(want_marginal, abs=1e-5)


@pytest.mark.parametrize(
    ("lengths", "seed"),
    [
        ([120, 1, 60, 87, 2, 119, 1, 75], 1),
        ([1], 2),
        ([1, 1, 1], 3),
        ([64] * 16, 4),  # every sequence full length
        ([5, 3, 0, 4], 5),  # a sequence without words decodes to nothing
    ],
)
def test_tensor_viterbi_equals_the_numpy_decoding(lengths: list[int], seed: int) -> None:
    crf = _random_crf(seed)
    generator = torch.Generator().manual_seed(seed + 100)
    steps = max(lengths)
    emissions = 3 * torch.randn(len(lengths), steps, len(LABELS), generator=generator)
    mask = _prefix_mask(lengths, steps)
    expected = crf.decode(emissions, mask)  # NumPy on the CPU
    actual = _decode_with_torch(crf, emissions, mask)
    assert [len(path) for path in actual] == lengths
    _assert_same_decoding(expected, actual)


def test_tensor_viterbi_never_takes_a_forbidden_transition() -> None:
    crf = _random_crf(11)
    forbidden_transitions, forbidden_start = allowed_transitions(LABELS)
    generator = torch.Generator().manual_seed(12)
    lengths = [40, 1, 17, 40, 3, 29]
    emissions = torch.randn(len(lengths), 40, len(LABELS), generator=generator)
    # Inside tags score highest everywhere, so only the constraints keep paths valid.
    inside = [index for index, label in enumerate(LABELS) if label.startswith("I-")]
    emissions[:, :, inside] += 6.0
    paths = _decode_with_torch(crf, emissions, _prefix_mask(lengths, 40))
    used_inside = False
    for path in paths:
        labels = [label for label, _ in path]
        assert forbidden_start[labels[0]] == 0
        for previous, current in itertools.pairwise(labels):
            assert forbidden_transitions[previous, current] == 0
            used_inside = used_inside or current in inside
    assert used_inside


def test_tensor_viterbi_refuses_a_mask_with_gaps() -> None:
    crf = ConditionalRandomField(LABELS)
    with pytest.raises(ValueError, match="prefix"):
        _decode_with_torch(crf, torch.zeros(1, 3, len(LABELS)), torch.tensor([[1, 0, 1]]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_decoding_on_cuda_equals_the_cpu_decoding() -> None:
    crf = _random_crf(21)
    generator = torch.Generator().manual_seed(22)
    lengths = [90, 1, 60, 120, 33] * 3 + [1]
    emissions = torch.randn(len(lengths), 120, len(LABELS), generator=generator)
    mask = _prefix_mask(lengths, 120)
    expected = crf.decode(emissions, mask)
    actual = crf.to("cuda").decode(emissions.to("cuda"), mask.to("cuda"))
    _assert_same_decoding(expected, actual)
