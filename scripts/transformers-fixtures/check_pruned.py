"""Loads folders that `dsnot prune` wrote from the transformers fixtures with transformers'
own from_pretrained, and checks that their perplexity on the fixture's tokens is the one the
run reported (dsnot-report.json: perplexity.after, its seqlen) and that every linear is sparse.

  python3 check_pruned.py FIXTURES_DIR PRUNED_DIR    (PRUNED_DIR/<name>/ per fixture name)
"""
import json
import math
import os
import sys

import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM

from make_fixtures import window_losses

if __name__ == "__main__":
    torch.set_grad_enabled(False)
    fixtures, pruned = sys.argv[1], sys.argv[2]
    worst = 0.0
    for name in sorted(os.listdir(pruned)):
        report_path = os.path.join(pruned, name, "dsnot-report.json")
        if not os.path.exists(report_path):
            continue
        with open(report_path) as f:
            ppl = json.load(f)["perplexity"]
        model = AutoModelForCausalLM.from_pretrained(os.path.join(pruned, name), attn_implementation="eager", dtype=torch.float32).eval()
        with safe_open(os.path.join(fixtures, name, "reference.safetensors"), "pt") as f:
            tokens = f.get_tensor("tokens").tolist()
        losses = window_losses(model, tokens, ppl["seqlen"])
        got = math.exp(sum(losses) / len(losses))
        zeros = [(p == 0).double().mean().item() for n, p in model.named_parameters() if p.dim() == 2 and ("proj" in n or ".fc" in n)]
        rel = abs(got - ppl["after"]) / ppl["after"]
        worst = max(worst, rel)
        print(f"{name:20s} transformers {got:.6f}  dsnot's report {ppl['after']:.6f}  rel {rel:.1e}  "
              f"zeros per linear {min(zeros):.3f}..{max(zeros):.3f}")
    print(f"worst relative difference {worst:.1e}")
    sys.exit(0 if worst < 1e-5 else 1)
