import Foundation
import Hummingbird
import PhiGeneration
import PhiTokenizer

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its status.
public struct APIError: Error, HTTPResponseError, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let param: String?
    public let code: String?

    public init(status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(message)" }

    public static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, param: param, code: code)
    }

    public var json: JSONValue {
        ["error": .object(JSONObject([
            ("message", .string(message)), ("type", .string(type)),
            ("param", param.map(JSONValue.string) ?? .null), ("code", code.map(JSONValue.string) ?? .null),
        ]))]
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(json, status: status)
    }

    /// The API error for anything a request's handling threw: bad input is a 400 naming the
    /// field, a dead worker a 503 naming it, the rest a 500.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case is CancellationError:
            // The client went away (nginx's 499): counted as cancelled, not as a server error.
            return APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"),
                            message: "the client closed the connection; the generation was cancelled", type: "cancelled")
        case let error as GenerationInterrupted:
            // A worker died mid-generation: answer for the cause (a 503 naming the worker).
            return from(error.cause)
        case let error as ClusterError:
            return APIError(status: .serviceUnavailable, message: error.description, type: "service_unavailable", code: "stage_down")
        case let error as EngineError:
            switch error {
            case .promptTooLong: return .badRequest(error.description, param: "messages", code: "context_length_exceeded")
            case .emptyPrompt, .tokenOutOfRange: return .badRequest(error.description, param: "prompt")
            }
        case let error as ChatTemplateError:
            if case .invalidTool = error { return .badRequest(error.description, param: "tools") }
            return .badRequest(error.description, param: "messages")
        case let error as ToolConstraintError:
            if case .unknownFunction = error { return .badRequest(error.description, param: "tool_choice") }
            return .badRequest(error.description, param: "tools")
        case let error as SchemaError:
            return .badRequest(error.description, param: "response_format")
        case let error as PipelineError:
            switch error {
            case .stageDown:
                return APIError(status: .serviceUnavailable, message: error.description, type: "service_unavailable",
                                code: "stage_down")
            case .contextExceeded:
                return .badRequest(error.description, param: "max_tokens", code: "context_length_exceeded")
            default:
                return APIError(status: .internalServerError, message: error.description, type: "server_error")
            }
        case let error as HTTPError:
            let message = error.body ?? (error.status == .notFound ? "no such route" : error.status.reasonPhrase)
            return APIError(status: error.status, message: message,
                            type: error.status.code == 404 ? "not_found_error" : "invalid_request_error")
        default:
            return APIError(status: .internalServerError, message: "\(error)", type: "server_error")
        }
    }
}

/// Turns every error into OpenAI's shape (Hummingbird's own 404s and 413s included), so clients
/// always read `error.message`; the server goes on serving.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            return try await next(request, context)
        } catch {
            var apiError = APIError.from(error)
            if apiError.status == .notFound && apiError.message == "no such route" {
                apiError = APIError(status: .notFound, message: "no route for \(request.method) \(request.uri.path)",
                                    type: "not_found_error", code: "unknown_url")
            }
            await metrics.recordRequest(endpoint: Self.endpoint(request.uri.path), status: Int(apiError.status.code),
                                        duration: ContinuousClock.now - start)
            return JSONResponse.make(apiError.json, status: apiError.status)
        }
    }

    /// The `endpoint` label of a path: the generation endpoints by name, anything else as "other".
    static func endpoint(_ path: String) -> String {
        switch path {
        case "/v1/chat/completions": "chat"
        case "/v1/completions": "completions"
        default: "other"
        }
    }
}

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized(.compact))))
    }
}
