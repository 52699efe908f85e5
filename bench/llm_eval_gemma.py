"""`bentu llm eval` on Gemma 3 270M with the EXAMPLE banks: direct, and through the gateway's guards.

Loads the pinned offline Gemma once (hash-checked) and runs the assessment twice: directly, and
through an in-process gateway (PII masking, EXAMPLE keyword policy "block", labels). Greedy
decoding gives the same answer to the same prompt, so the upstream is memoized by (messages,
params): the gateway run asks upstream again only where masking changed the prompt. Writes the two
run directories given (default /tmp/llm_gemma_direct, /tmp/llm_gemma_gw).

    PYTHONPATH=src .venv/bin/python bench/llm_eval_gemma.py SAMPLE_PER_BANK MAX_TOKENS
"""
import json, time, sys
from pathlib import Path
from bentu.llm.assess import GatewayModel, run_assessment
from bentu.llm.banks import example_bank_path, load_banks
from bentu.llm.gateway import Gateway, GatewayPolicy
from bentu.llm.models import ChatModel, open_model

class Cached(ChatModel):
    """Memoizes the upstream by (messages, params): greedy decoding gives the same answer to the same prompt."""
    def __init__(self, inner): self.inner, self.name, self.cache, self.calls = inner, inner.name, {}, 0
    def generate(self, messages, **p):
        key = json.dumps([messages, p], ensure_ascii=False, sort_keys=True)
        if key not in self.cache:
            self.calls += 1
            self.cache[key] = self.inner.generate(messages, **p)
        return self.cache[key]
    def stream(self, messages, **p): yield self.generate(messages, **p).text
    def describe(self): return self.inner.describe()

sample, max_tokens = int(sys.argv[1]), int(sys.argv[2])
t = time.time()
m = Cached(open_model(model="gemma-270m"))
print("load s", round(time.time() - t, 1), flush=True)
qs = load_banks([example_bank_path()])
for route, model, out in (("direct", m, "/tmp/llm_gemma_direct"), ("gateway", GatewayModel(Gateway(m, policy=GatewayPolicy())), "/tmp/llm_gemma_gw")):
    t = time.time()
    doc = run_assessment(qs, model, Path(out), bank_files=[example_bank_path()], sample=sample, seed=0,
                         params={"max_tokens": max_tokens}, route=route)
    print(route, "s", round(time.time() - t, 1), "upstream calls", m.calls, flush=True)
    print(json.dumps(doc["rates"], ensure_ascii=False), flush=True)
