"""Model backends: transformers on a tiny model built here, an OpenAI-compatible endpoint,
and the assembly of the bundled GGUF from its package parts."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from stepdr.agent.assets import GGUF_SIZE, Chunk, assemble_gguf, find_chunks
from stepdr.agent.models.openai import OpenAIChatModel
from stepdr.agent.records import Budgets, ExitStatus, Message
from stepdr.core.errors import ModelError

from .agentutil import build_agent_index, make_agent

CALL = '<tool_call>{"name": "todo", "arguments": {"action": "list"}}</tool_call>'
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def chat_tokenizer(words: str, vocab_size: int) -> Any:
    """A byte-level BPE tokenizer trained offline on ``words``, with a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([words] * 5, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHATML
    return fast


def tiny_model(path: Path, reply: list[str]) -> Path:
    """A 2-layer Qwen2 with a byte-level BPE tokenizer, built offline, that always says ``reply``.

    Attention and MLP outputs are zeroed, so each next token depends on the current token
    alone; the LM head maps each token of the chain (after the generation prompt) to the
    next.  Everything else is the real transformers path: chat template, generate, stop
    strings, decoding.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    fast = chat_tokenizer("system user assistant question answer", 300)
    fast.add_tokens(reply)
    prompt = fast.apply_chat_template(
        [{"role": "user", "content": "q"}], add_generation_prompt=True
    )
    ids = prompt["input_ids"] if isinstance(prompt, dict) or hasattr(prompt, "keys") else prompt
    chain = [int(ids[-1]), *fast.convert_tokens_to_ids(reply), int(fast.eos_token_id)]
    config = Qwen2Config(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        emb = model.model.embed_tokens.weight
        emb.copy_(torch.nn.functional.normalize(torch.randn_like(emb), dim=1))
        model.model.norm.weight.fill_(1.0)
        head = torch.zeros_like(model.lm_head.weight)
        for cur, nxt in itertools.pairwise(chain):
            head[nxt] = emb[cur] * 5.0
        model.lm_head.weight.copy_(head)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def data(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent_index(crawled_site, tmp_path_factory.mktemp("agent-index"))


def test_transformers_model_answers_through_generate(tmp_path: Path, data: Path) -> None:
    from stepdr.agent.models.hf import TransformersModel

    model = TransformersModel(tiny_model(tmp_path / "m", ["<answer>", "Tiny", "</answer>"]))
    reply = model.complete([Message("user", "q")], max_tokens=10)
    assert reply.text == "<answer>Tiny</answer>" and reply.completion_tokens == 4
    assert reply.prompt_tokens == model.count_tokens([Message("user", "q")])
    result = make_agent(model, data, tmp_path / "run").run("q")
    assert result.status is ExitStatus.ANSWERED and result.answer == "Tiny"


def test_transformers_model_stops_at_an_imagined_tool_response(tmp_path: Path, data: Path) -> None:
    from stepdr.agent.models.hf import TransformersModel

    model = TransformersModel(tiny_model(tmp_path / "m", [CALL, "<tool_response>", "fake"]))
    reply = model.complete([Message("user", "q")], max_tokens=10)
    assert reply.text == CALL + "<tool_response>"  # generation stopped at the stop string
    # The same call every turn: a real model looping until the step budget stops it.
    result = make_agent(model, data, tmp_path / "run", Budgets(max_steps=3)).run("q")
    assert result.status is ExitStatus.MAX_STEPS and result.steps == 3


def test_transformers_model_errors(tmp_path: Path) -> None:
    from stepdr.agent.models.hf import TransformersModel

    with pytest.raises(ModelError, match="no model at"):
        TransformersModel(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="cannot load"):
        TransformersModel(tmp_path / "empty")


class _ChatServer(BaseHTTPRequestHandler):
    replies: ClassVar[list[str]] = []
    requests: ClassVar[list[dict[str, Any]]] = []

    def _send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"data": [{"id": "served-model"}]})

    def do_POST(self) -> None:
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req["auth"] = self.headers.get("Authorization")
        type(self).requests.append(req)
        text = type(self).replies.pop(0) if type(self).replies else "<answer>out of script</answer>"
        self._send({
            "choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 123, "completion_tokens": 7},
        })  # fmt: skip

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[type[_ChatServer]]:
    handler = type("Handler", (_ChatServer,), {"replies": [], "requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        httpd.shutdown()


def test_openai_compatible_endpoint(chat_server: Any) -> None:
    chat_server.replies.append("<answer>hi</answer>")
    model = OpenAIChatModel(chat_server.url, api_key="k3y")
    assert model.name == "served-model"
    reply = model.complete([Message("system", "s"), Message("user", "q")], max_tokens=50)
    assert reply.text == "<answer>hi</answer>"
    assert (reply.prompt_tokens, reply.completion_tokens) == (123, 7)
    sent = chat_server.requests[0]
    assert sent["model"] == "served-model" and sent["max_tokens"] == 50
    assert sent["messages"][1] == {"role": "user", "content": "q"}
    assert sent["stop"] == ["<tool_response>"] and sent["auth"] == "Bearer k3y"


def test_openai_endpoint_unreachable_is_a_model_error() -> None:
    model = OpenAIChatModel("http://127.0.0.1:9/v1", model="m", timeout=2)
    with pytest.raises(ModelError, match=r"127\.0\.0\.1:9"):
        model.complete([Message("user", "q")], max_tokens=5)


def _chunks(tmp_path: Path, parts: list[bytes]) -> list[Chunk]:
    out = []
    for i, b in enumerate(parts, 1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(b)
        out.append(Chunk(f"pkg{i}", p, len(b)))
    return out


def test_gguf_assembly_checks_size_and_hash(tmp_path: Path) -> None:
    parts = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
    whole = b"".join(parts)
    digest = hashlib.sha256(whole).hexdigest()
    chunks = _chunks(tmp_path, parts)
    dest = tmp_path / "out" / "m.gguf"
    assert assemble_gguf(dest, chunks, len(whole), digest).read_bytes() == whole
    dest.unlink()
    with pytest.raises(ModelError, match="expected 1"):
        assemble_gguf(dest, chunks, 1, digest)
    with pytest.raises(ModelError, match="sha256"):
        assemble_gguf(dest, list(reversed(chunks)), len(whole), digest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_missing_model_part_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="pip install"):
        find_chunks(("stepdr-no-such-model-part",))


def test_installed_model_parts_hold_the_whole_file() -> None:
    try:
        chunks = find_chunks()
    except ModelError as e:
        pytest.skip(str(e))
    assert len(chunks) == 6 and sum(c.size for c in chunks) == GGUF_SIZE


def tiny_random_model(path: Path) -> Path:
    """A 2-layer Qwen2 with random weights: attention as real as it gets, replies noise."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    fast = chat_tokenizer("system user assistant the question of trusted sources", 400)
    config = Qwen2Config(
        vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_prefix_reuse_keeps_greedy_replies_and_encodes_only_what_is_new(tmp_path: Path) -> None:
    from stepdr.agent.models.hf import TransformersModel

    path = tiny_random_model(tmp_path / "m")
    reusing, fresh = TransformersModel(path), TransformersModel(path, reuse_prefix=False)
    messages = [Message("system", "You answer questions."), Message("user", "the question")]
    reused, prompts = [], []
    for step in range(4):
        a, b = reusing.complete(messages, 16), fresh.complete(messages, 16)
        assert a.text == b.text and a.prompt_tokens == b.prompt_tokens, step
        assert b.reused_tokens == 0
        reused.append(a.reused_tokens)
        prompts.append(a.prompt_tokens)
        messages = [*messages, Message("assistant", a.text), Message("user", f"result {step}")]
    assert reused[0] == 0
    assert all(prompts[i - 1] <= reused[i] < prompts[i] for i in range(1, 4)), (reused, prompts)
    assert reused == sorted(reused)  # the shared prefix grows with the conversation
    # An earlier message changed: only the part before it is kept, and replies still agree.
    changed = [messages[0], Message("user", "another question"), *messages[2:]]
    a, b = reusing.complete(changed, 16), fresh.complete(changed, 16)
    assert a.text == b.text and 0 < a.reused_tokens < reused[-1]
    # A prompt wholly held in the cache still encodes its last token for the reply's logits.
    again = reusing.complete(changed, 16)
    assert again.text == a.text and again.reused_tokens == again.prompt_tokens - 1
