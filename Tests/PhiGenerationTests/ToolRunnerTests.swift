import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

@Suite("Tool runner: no shell, JSON on stdin, timeout, output cap, exit status")
struct ToolRunnerTests {
    static let tools = Fixtures.root.appendingPathComponent("tools")

    static func spec(_ script: String, _ extra: [String] = [], timeout: Duration = .seconds(10),
                     maxOutputBytes: Int = 64 * 1024, parameters: String = #"{"type": "object"}"#) -> Manifest.ToolSpec {
        Manifest.ToolSpec(name: script.replacingOccurrences(of: ".py", with: ""), description: "fixture",
                          parametersJSON: parameters, command: ["python3", tools.appendingPathComponent(script).path] + extra,
                          timeout: timeout, maxOutputBytes: maxOutputBytes)
    }

    @Test("the arguments arrive on stdin and stdout is the result")
    func success() async throws {
        let outcome = await ToolRunner.run(Self.spec("weather.py"), argumentsJSON: #"{"city": "Zürich", "days": 2}"#)
        guard case let .success(text) = outcome else { Issue.record("\(outcome)"); return }
        let value = try JSONValue.parse(text)
        #expect(value["city"] == "Zürich")
        #expect(value["forecast"] == "sunny for 2 day(s)")
    }

    @Test("a tool past its timeout is killed and reported")
    func timeout() async {
        let start = ContinuousClock.now
        let outcome = await ToolRunner.run(Self.spec("slow.py", timeout: .milliseconds(300)), argumentsJSON: "{}")
        #expect(ContinuousClock.now - start < .seconds(10))
        guard case let .failure(reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("slow") && reason.contains("did not finish"))
    }

    @Test("a tool printing past its output cap is stopped and reported")
    func outputCap() async {
        let outcome = await ToolRunner.run(Self.spec("flood.py", maxOutputBytes: 1000), argumentsJSON: "{}")
        guard case let .failure(reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("1000 bytes"))
    }

    @Test("a non-zero exit is a failure carrying stderr")
    func nonZeroExit() async {
        let outcome = await ToolRunner.run(Self.spec("failing.py"), argumentsJSON: "{}")
        guard case let .failure(reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("exit status 3"))
        #expect(reason.contains("unreachable"))
        #expect(outcome.messageContent.hasPrefix(#"{"error": "#))
    }

    @Test("a missing program is a failure naming it")
    func missingProgram() async {
        var spec = Self.spec("weather.py")
        spec.command = ["/nonexistent/tool"]
        let outcome = await ToolRunner.run(spec, argumentsJSON: "{}")
        #expect(outcome == .failure("tool 'weather': program '/nonexistent/tool' not found"))
    }

    @Test("the toolbox refuses invalid arguments and unknown tools before running anything")
    func toolboxValidates() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("phi-tool-\(UUID().uuidString).jsonl")
        let schema = #"{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"#
        let toolbox = try Toolbox([Self.spec("weather.py", [log.path], parameters: schema)])
        let invalid = await toolbox.call(ToolCall(name: "weather", arguments: ["city": 12]))
        #expect(invalid == .failure("the arguments of 'weather' are invalid: $.city: expected string, found number"))
        let unknown = await toolbox.call(ToolCall(name: "nope", arguments: [:]))
        #expect(unknown.isFailure)
        #expect(!FileManager.default.fileExists(atPath: log.path), "the tool ran for a refused call")
        let valid = await toolbox.call(ToolCall(name: "weather", arguments: ["city": "Oslo"]))
        #expect(!valid.isFailure)
        #expect(try String(contentsOf: log, encoding: .utf8) == #"{"city": "Oslo"}"# + "\n")
    }
}
