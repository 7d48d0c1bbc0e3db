import Foundation
import PhiTestSupport
import PhiTokenizer
import Testing
@testable import PhiServer

@Suite("Request parsing and error mapping")
struct RequestParsingTests {
    func parse(_ json: String) throws(APIError) -> ChatCompletionRequest {
        try ChatCompletionRequest(RequestFields(body: Array(json.utf8)))
    }

    @Test("wrong field types are 400s naming the field", arguments: [
        (#"{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}"#, "temperature"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": -3}"#, "max_tokens"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "top_p": 0}"#, "top_p"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "stop": [1, 2]}"#, "stop"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "n": 3}"#, "n"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": "yes"}}"#, "stream_options.include_usage"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}"#, "tool_choice"),
        (#"{"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "xml"}}"#, "response_format"),
        (#"{"messages": {"role": "user"}}"#, "messages"),
        (#"{"model": 4, "messages": []}"#, "model"),
    ])
    func wrongTypes(_ json: String, _ param: String) {
        let error = #expect(throws: APIError.self) { try parse(json) }
        #expect(error?.status == .badRequest)
        #expect(error?.param == param, "\(error?.message ?? "")")
    }

    @Test("bad JSON is a 400 saying where it broke")
    func badJSON() {
        let error = #expect(throws: APIError.self) { try parse(#"{"messages": ["#) }
        #expect(error?.status == .badRequest)
        #expect(error?.message.contains("byte") == true)
    }

    @Test("tool_choice naming an unknown function lists the offered ones")
    func unknownTool() {
        let json = #"{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "a"}}], "#
            + #""tool_choice": {"type": "function", "function": {"name": "b"}}}"#
        let error = #expect(throws: APIError.self) { try parse(json) }
        #expect(error?.param == "tool_choice")
        #expect(error?.message.contains("'b'") == true && error?.message.contains("a") == true)
    }

    @Test("a valid request keeps its tools' key order and its choices")
    func validRequest() throws {
        let request = try parse(#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 9, "#
            + #""tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"z": {}, "a": {}}}}}], "#
            + #""tool_choice": {"type": "function", "function": {"name": "f"}}, "stream": true, "stop": "END", "seed": -1}"#)
        #expect(request.toolChoice == .function("f"))
        #expect(request.sampling.maxTokens == 9)
        #expect(request.sampling.stops == ["END"])
        #expect(request.sampling.seed == UInt64.max)
        #expect(request.stream)
        #expect(request.tools.first?.function["parameters"]?["properties"]?.objectValue?.keys == ["z", "a"])
    }

    @Test("a dead worker is a 503 naming it; an oversized prompt a 400 with both numbers")
    func errorMapping() {
        let down = APIError.from(PipelineError.stageDown(name: "pi5-4gb-a", address: "tcp://10.0.0.2:5600", reason: "no reply in 5 s"))
        #expect(down.status == .serviceUnavailable)
        #expect(down.message.contains("pi5-4gb-a"))
        let long = APIError.from(EngineError.promptTooLong(promptTokens: 5000, contextTokens: 4096))
        #expect(long.status == .badRequest)
        #expect(long.code == "context_length_exceeded")
        #expect(long.message.contains("5000") && long.message.contains("4096"))
        // A client that left is not a server error (issue 16): 499, as nginx logs it, typed "cancelled".
        let cancelled = APIError.from(CancellationError())
        #expect(cancelled.status.code == 499 && cancelled.type == "cancelled")
    }
}
