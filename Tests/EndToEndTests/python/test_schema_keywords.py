"""Issue 19 through the server: patterns and formats are generated, unsupported keywords are a 400
naming the keyword and its JSON pointer, for response_format and tool parameters alike."""
import json

import jsonschema
import openai
import pytest

from conftest import MODEL_NAME

MESSAGES = [{"role": "user", "content": "Book a flight and describe it."}]


def checked(schema, instance):
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).validate(instance)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pattern_and_formats_are_generated(client, seed):
    schema = {"type": "object", "properties": {
        "flight": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
        "id": {"type": "string", "format": "uuid"},
        "when": {"type": "string", "format": "date-time"},
        "gate": {"type": "integer", "multipleOf": 5, "minimum": 0, "maximum": 50},
    }, "required": ["flight", "id", "when", "gate"], "additionalProperties": False}
    response = client.chat.completions.create(
        model=MODEL_NAME, messages=MESSAGES, max_tokens=120, seed=seed, temperature=0.7,
        response_format={"type": "json_schema", "json_schema": {"name": "booking", "schema": schema}})
    assert response.choices[0].finish_reason == "stop"
    checked(schema, json.loads(response.choices[0].message.content))


def test_forced_tool_call_with_a_pattern(client):
    parameters = {"type": "object", "properties": {"flight": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}},
                  "required": ["flight"]}
    tools = [{"type": "function", "function": {"name": "book", "description": "Books a flight", "parameters": parameters}}]
    response = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, tools=tools, max_tokens=60, seed=4,
                                              tool_choice={"type": "function", "function": {"name": "book"}})
    call = response.choices[0].message.tool_calls[0]
    checked(parameters, json.loads(call.function.arguments))


def test_unsupported_keyword_is_a_400_naming_it(client):
    schema = {"type": "object", "properties": {"id": {"not": {"type": "string"}}}}
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=MODEL_NAME, messages=MESSAGES, max_tokens=10,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert "schema #/properties/id: keyword 'not' is not supported" in str(raised.value)


def test_unsupported_keyword_in_tool_parameters_is_a_400(client):
    tools = [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "string", "pattern": "(a)\\1"}}}}}]
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, tools=tools, max_tokens=10,
                                       tool_choice="required")
    assert "keyword 'pattern' with a backreference is not supported" in str(raised.value)
