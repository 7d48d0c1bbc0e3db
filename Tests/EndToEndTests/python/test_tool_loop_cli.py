"""`phi-coord run` and `phi-coord chat`: the function-calling loop with manifest tools, as a user runs it."""
import json
import re
import subprocess

import jsonschema

from conftest import FIXTURES, ROOT, phi_coord_binary

MANIFEST = ROOT / "cluster" / "tiny-tools.toml"
TOKENIZER = FIXTURES / "phi4-mini-tokenizer"
WEATHER_SCHEMA = {"type": "object",
                  "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                  "required": ["city"]}


def phi_coord(*arguments, stdin=None):
    return subprocess.run([str(phi_coord_binary()), *arguments], input=stdin, capture_output=True, text=True, timeout=300)


def test_run_shows_the_call_its_result_and_the_answer():
    result = phi_coord("run", "--manifest", str(MANIFEST), "--tokenizer", str(TOKENIZER), "--prompt", "Weather in Oslo?",
                       "--tool-choice", "get_weather", "--max-rounds", "1", "--max-tokens", "40", "--seed", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    call = next(line for line in lines if line.startswith("[tool call] get_weather "))
    jsonschema.validate(json.loads(call.removeprefix("[tool call] get_weather ")), WEATHER_SCHEMA)
    outcome = next(line for line in lines if line.startswith("[tool result] get_weather: "))
    assert "temperature" in json.loads(outcome.removeprefix("[tool result] get_weather: "))
    assert lines.index(call) < lines.index(outcome)
    assert re.match(r"\[2 rounds, (stop|length)\]", lines[-1])


def test_run_with_a_model_and_a_tools_manifest():
    result = phi_coord("run", "--model", str(FIXTURES / "tiny-phi4-golden" / "model"), "--tokenizer", str(TOKENIZER),
                       "--tools-manifest", str(MANIFEST), "--prompt", "What is 6 times 7?", "--tool-choice", "calculator",
                       "--max-rounds", "1", "--max-tokens", "40", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\[tool (result|error)\] calculator: ", result.stdout, re.MULTILINE)


def test_run_refuses_an_unknown_tool_choice():
    result = phi_coord("run", "--manifest", str(MANIFEST), "--tokenizer", str(TOKENIZER), "--prompt", "Hi",
                       "--tool-choice", "teleport", "--max-tokens", "5")
    assert result.returncode != 0
    assert "teleport" in result.stderr


def test_chat_keeps_the_conversation_and_shows_progress_on_long_prompts():
    long_line = "Please summarise this: " + "the lighthouse keeper climbed the stairs again " * 60
    result = phi_coord("chat", "--model", str(FIXTURES / "tiny-phi4-golden" / "model"), "--tokenizer", str(TOKENIZER),
                       "--max-tokens", "6", "--seed", "2", "--chunk", "64", stdin=f"Hello there\n{long_line}\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("> ") >= 3  # two questions answered, then the prompt that reads end of input
    # Not a terminal: plain progress lines, the last with the whole prompt, its rate and time.
    finished = re.search(r"prompt: (\d+)/(\d+) tokens \(100%\), [\d.]+ tokens/s, in \d+:\d\d", result.stderr)
    assert finished and finished.group(1) == finished.group(2) and int(finished.group(2)) > 400, result.stderr
