"""ONNX Runtime against PyTorch for the stance network: speed and P-Stance macro-F1.

Usage: python -m benchmarks.onnx_bench PSTANCE_CSV [--pairs 2193] [--rounds 3]
       [--batch-size 32] [--threads 2] [--work DIR]

Four contenders score the same (target, tweet) pairs from a P-Stance-format CSV, in
batches of similar length as the worker makes them, taking turns for ``--rounds`` rounds:
PyTorch fp32, PyTorch bf16 with blocked attention (the worker's default), and ONNX Runtime
on the exported network after its BERT fusions (attention, bias+GELU, skip+layer norm),
in fp32 and with int8 dynamic quantisation (per-channel weights). Prints each one's median
pairs/s and its macro-F1 on the pairs, one JSON line per contender.

ONNX Runtime is not a dependency of stancewire (it lost this comparison; README,
Performance). Install it beside the project to run this: ``pip install onnxruntime onnx``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from pipeline.kernels.precision import apply_precision
from pipeline.stance import SHIPPED_MODEL_DIR, CrossEncoderScorer, StanceNetwork
from training.stance_data import read_pstance, score_predictions
from training.stance_eval import predict_labels

INPUTS = ("input_ids", "token_type_ids", "attention_mask")
Batch = dict[str, np.ndarray]


class _Exported(nn.Module):
    """The stance network through the encoder's own forward, the graph ONNX Runtime's BERT
    fusions recognise."""

    def __init__(self, network: StanceNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.network.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return cast(torch.Tensor, self.network.head(pooled))


def length_batches(
    scorer: CrossEncoderScorer, targets: list[str], passages: list[str]
) -> tuple[list[Batch], list[int], int]:
    """The scorer's own batches (``CrossEncoderScorer.batches``) as NumPy arrays, the pair
    order they come in, and the real tokens they hold."""
    batches: list[Batch] = []
    order: list[int] = []
    for chunk, inputs in scorer.batches(targets, passages):
        order.extend(chunk)
        batches.append({name: inputs[name].numpy() for name in INPUTS})
    tokens = sum(int(batch["attention_mask"].sum()) for batch in batches)
    return batches, order, tokens


def export(network: StanceNetwork, sample: Batch, work: Path) -> tuple[Path, Path]:
    """The network as ONNX after the BERT fusions, in fp32 and int8 (dynamic, per channel)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    work.mkdir(parents=True, exist_ok=True)
    plain, fused, int8 = work / "stance.onnx", work / "stance.fused.onnx", work / "stance.int8.onnx"
    wrapped = _Exported(copy.deepcopy(network)).eval()
    # The fusions match the encoder's eager attention, not PyTorch's fused kernel.
    wrapped.network.encoder.config._attn_implementation = "eager"
    torch.onnx.export(
        wrapped,
        tuple(torch.from_numpy(sample[name]) for name in INPUTS),
        str(plain),
        input_names=list(INPUTS),
        output_names=["logits"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in INPUTS},
        opset_version=17,
        dynamo=False,
    )
    config = network.encoder.config
    model = optimizer.optimize_model(
        str(plain),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
    )
    print(json.dumps({"fused_operators": model.get_fused_operator_statistics()}), flush=True)
    model.save_model_to_file(str(fused))
    quantize_dynamic(
        str(fused),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return fused, int8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pstance", type=Path, help="P-Stance-format CSV (Tweet,Target,Stance)")
    parser.add_argument("--pairs", type=int, default=None, help="first N rows (default all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/stancewire-onnx"))
    arguments = parser.parse_args(argv)
    try:
        import onnxruntime as ort
    except ImportError:
        parser.error("ONNX Runtime is not installed: pip install onnxruntime onnx")

    torch.set_num_threads(arguments.threads)
    examples = read_pstance(arguments.pstance)[: arguments.pairs]
    scorer = CrossEncoderScorer(SHIPPED_MODEL_DIR, "cpu", arguments.batch_size)
    batches, order, tokens = length_batches(
        scorer,
        [ex.target for ex in examples],
        [ex.passage for ex in examples],
    )
    fused, int8 = export(scorer.network, batches[len(batches) // 2], arguments.work)
    fp32_network = scorer.network.eval()
    bf16_network = apply_precision(copy.deepcopy(fp32_network), "bf16").eval()

    def torch_run(network: nn.Module) -> Callable[[], list[np.ndarray]]:
        def run() -> list[np.ndarray]:
            with torch.inference_mode():
                return [
                    network(
                        torch.from_numpy(b["input_ids"]),
                        torch.from_numpy(b["attention_mask"]),
                        torch.from_numpy(b["token_type_ids"]),
                    )
                    .float()
                    .numpy()
                    for b in batches
                ]

        return run

    def onnx_run(path: Path) -> Callable[[], list[np.ndarray]]:
        options = ort.SessionOptions()
        options.intra_op_num_threads = arguments.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda: [session.run(None, dict(b))[0] for b in batches]

    contenders: dict[str, Callable[[], list[np.ndarray]]] = {
        "torch_fp32": torch_run(fp32_network),
        "torch_bf16_blocked": torch_run(bf16_network),
        "onnxruntime_fp32_fused": onnx_run(fused),
        "onnxruntime_int8_fused": onnx_run(int8),
    }
    gold = [ex.gold for ex in examples]
    results: dict[str, dict[str, Any]] = {}
    for name, run in contenders.items():
        logits = np.concatenate(run())
        ordered = np.empty_like(logits)
        ordered[np.array(order)] = logits
        probabilities = torch.softmax(torch.from_numpy(ordered).float(), dim=-1)
        predicted = predict_labels("pstance", probabilities, 0.5)
        results[name] = {
            "macro_f1": round(score_predictions("pstance", gold, predicted)["macro_f1"], 4),
            "seconds": [],
        }
    for _ in range(arguments.rounds):
        for name, run in contenders.items():
            started = time.perf_counter()
            run()
            results[name]["seconds"].append(time.perf_counter() - started)
    for name, result in results.items():
        median = statistics.median(result["seconds"])
        line = {
            "contender": name,
            "pairs": len(examples),
            "tokens": tokens,
            "pairs_per_s": round(len(examples) / median, 1),
            "macro_f1": result["macro_f1"],
            "seconds_each_round": [round(value, 3) for value in result["seconds"]],
        }
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
