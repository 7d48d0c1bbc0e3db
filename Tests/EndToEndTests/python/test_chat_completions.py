"""The openai client against `phi-coord serve`: plain, streamed, tool calls, JSON schemas, reuse."""
import json

import jsonschema
import pytest

from conftest import MODEL_NAME

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["city", "unit"],
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
                                      "parameters": WEATHER_SCHEMA}},
    {"type": "function", "function": {"name": "add", "description": "Adds two numbers", "parameters": {
        "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}}},
]
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the weather like in Paris today?"}]


def test_models_lists_the_served_model(client):
    assert [model.id for model in client.models.list().data] == [MODEL_NAME]


def test_non_streamed_completion(client):
    response = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=12, seed=1)
    choice = response.choices[0]
    assert response.object == "chat.completion"
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    usage = response.usage
    assert usage.prompt_tokens > 10
    assert 1 <= usage.completion_tokens <= 12
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streamed_completion_matches_the_non_streamed_one(client):
    """Same seed, same sampling: the streamed deltas add up to the non-streamed text."""
    whole = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=16, seed=7, temperature=0.9)
    stream = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=16, seed=7, temperature=0.9,
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert text == whole.choices[0].message.content
    assert finish == [whole.choices[0].finish_reason]
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert all(chunk.object == "chat.completion.chunk" and chunk.id == chunks[0].id for chunk in chunks)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_named_tool_choice_gives_arguments_valid_against_the_schema(client, seed):
    response = client.chat.completions.create(
        model=MODEL_NAME, messages=MESSAGES, tools=TOOLS, max_tokens=80, seed=seed, temperature=1.0,
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert len(calls) == 1
    assert calls[0].type == "function" and calls[0].id.startswith("call_")
    assert calls[0].function.name == "get_weather"
    jsonschema.validate(json.loads(calls[0].function.arguments), WEATHER_SCHEMA)


def test_required_tool_choice_streams_valid_calls(client):
    stream = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, tools=TOOLS, max_tokens=100, seed=4,
                                            tool_choice="required", stream=True)
    calls = {}
    finish = None
    for chunk in stream:
        delta = chunk.choices[0].delta
        for call in delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
            if call.function.name:
                entry["name"] = call.function.name
            entry["arguments"] += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert calls
    schemas = {tool["function"]["name"]: tool["function"]["parameters"] for tool in TOOLS}
    for call in calls.values():
        jsonschema.validate(json.loads(call["arguments"]), schemas[call["name"]])


def test_json_schema_response_format(client):
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 20},
                                               "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                                               "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3}},
              "required": ["answer", "confidence", "tags"], "additionalProperties": False}
    response = client.chat.completions.create(
        model=MODEL_NAME, messages=MESSAGES, max_tokens=80, seed=5,
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}})
    jsonschema.validate(json.loads(response.choices[0].message.content), schema)
    assert response.choices[0].finish_reason == "stop"


def test_json_object_response_format(client):
    response = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=60, seed=6,
                                              response_format={"type": "json_object"})
    assert isinstance(json.loads(response.choices[0].message.content), dict)


def test_conversation_with_a_tool_call_and_its_result_reuses_the_prefix(client):
    """Turn one asks for a call; turn two carries the call and its result, and reuses turn one's cache."""
    first = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, tools=TOOLS, max_tokens=80, seed=8,
                                           tool_choice={"type": "function", "function": {"name": "get_weather"}})
    call = first.choices[0].message.tool_calls[0]
    conversation = MESSAGES + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature": 21, "sky": "clear"})},
    ]
    second = client.chat.completions.create(model=MODEL_NAME, messages=conversation, tools=TOOLS, max_tokens=10, seed=9)
    assert second.choices[0].message.role == "assistant"
    assert second.usage.prompt_tokens > first.usage.prompt_tokens + first.usage.completion_tokens - 5
    # Everything of turn one that turn two repeats came from the session's cache.
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens
    # The rest: the call as the template writes it (the sampled tokens may split it differently) and the result.
    assert second.usage.prompt_tokens - cached <= first.usage.completion_tokens + 30


def test_next_chat_turn_computes_only_its_new_tokens(client, server):
    question = [{"role": "user", "content": "Tell me a story about a lighthouse keeper."}]
    first = client.chat.completions.create(model=MODEL_NAME, messages=question, max_tokens=12, seed=10)
    computed_before = server.metric('phi_prompt_tokens_total{source="computed"}')
    follow_up = question + [{"role": "assistant", "content": first.choices[0].message.content},
                            {"role": "user", "content": "And then?"}]
    second = client.chat.completions.create(model=MODEL_NAME, messages=follow_up, max_tokens=4, seed=11)
    computed = server.metric('phi_prompt_tokens_total{source="computed"}') - computed_before
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens
    assert computed == second.usage.prompt_tokens - cached
    # New: the user's turn (about 7 tokens) and whatever of the answer re-tokenizes differently from
    # how it was sampled.
    assert computed <= first.usage.completion_tokens + 8
    # The same conversation again: everything but the last prompt token (which must run to give
    # the next token's logits) comes from the cache.
    computed_before = server.metric('phi_prompt_tokens_total{source="computed"}')
    again = client.chat.completions.create(model=MODEL_NAME, messages=follow_up, max_tokens=4, seed=12)
    assert again.usage.prompt_tokens == second.usage.prompt_tokens
    assert again.usage.prompt_tokens_details.cached_tokens == again.usage.prompt_tokens - 1
    assert server.metric('phi_prompt_tokens_total{source="computed"}') - computed_before == 1
