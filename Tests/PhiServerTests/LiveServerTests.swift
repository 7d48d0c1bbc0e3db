import Foundation
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PhiGeneration
import PhiServer
import PhiTestSupport
import PhiTokenizer
import Testing

/// The real server on a free loopback port, over HTTP.
@Suite("OpenAI server over HTTP with the tiny model", .serialized)
struct LiveServerTests {
    static func withServer(_ body: (URL) async throws -> Void) async throws {
        let source = try TinyModel.source()
        let pipeline = try LocalPipeline(model: source, format: nil, compute: try Compute(threads: 2))
        let tokenizer = try Tokenizer.load(directory: Fixtures.tokenizer, vocabularySize: source.config.vocabularySize)
        let engine = CompletionEngine(pipeline: pipeline, tokenizer: tokenizer, template: .phi4Mini,
                                      limits: .init(maxSessions: 2, maxCachedTokens: 10_000, contextTokens: 512))
        var logger = Logger(label: "phi-server-test")
        logger.logLevel = .critical  // stopping the server by cancellation logs errors that are expected here
        let server = OpenAIServer(engine: engine, configuration: .init(port: 0, modelName: "tiny"), logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run { continuation.yield($0) } }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        try await body(try #require(URL(string: "http://127.0.0.1:\(port)")))
    }

    static func post(_ base: URL, _ path: String, _ body: String) async throws -> (Int, Data) {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test("a named tool choice returns a call whose arguments validate; errors have OpenAI's shape")
    func toolCallAndErrors() async throws {
        try await Self.withServer { base in
            let schema = #"{"type": "object", "properties": {"city": {"type": "string", "maxLength": 10}, "#
                + #""n": {"type": "integer", "minimum": 1, "maximum": 3}}, "required": ["city", "n"]}"#
            let body = #"{"model": "tiny", "messages": [{"role": "user", "content": "Weather?"}], "max_tokens": 60, "seed": 2, "#
                + #""tools": [{"type": "function", "function": {"name": "weather", "parameters": \#(schema)}}], "#
                + #""tool_choice": {"type": "function", "function": {"name": "weather"}}}"#
            let (status, data) = try await Self.post(base, "v1/chat/completions", body)
            #expect(status == 200)
            let response = try JSONValue.parse(String(decoding: data, as: UTF8.self))
            let choice = try #require(response["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
            #expect(call["function"]?["name"] == "weather")
            let arguments = try JSONValue.parse(try #require(call["function"]?["arguments"]?.stringValue))
            #expect(JSONSchemaValidator(schema: try JSONValue.parse(schema)).firstViolation(arguments) == nil)

            let (badStatus, badData) = try await Self.post(base, "v1/chat/completions", "{nope")
            #expect(badStatus == 400)
            let error = try JSONValue.parse(String(decoding: badData, as: UTF8.self))
            #expect(error["error"]?["type"] == "invalid_request_error")
            let (missingStatus, _) = try await Self.post(base, "v1/nowhere", "{}")
            #expect(missingStatus == 404)
        }
    }

    @Test("a streamed completion is server-sent events ending in [DONE]")
    func streaming() async throws {
        try await Self.withServer { base in
            let (status, data) = try await Self.post(base, "v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5, "stream": true, "seed": 1}"#)
            #expect(status == 200)
            let events = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") })
            #expect(events.last == "data: [DONE]")
            let last = try JSONValue.parse(String(events[events.count - 2].dropFirst(6)))
            #expect(last["choices"]?.arrayValue?.first?["finish_reason"] == "length")
        }
    }
}
