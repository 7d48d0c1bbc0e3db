import Foundation
import PhiGeneration

/// Counters, gauges and histograms for `GET /metrics`, written in Prometheus' text format.
public actor ServerMetrics {
    /// A cumulative histogram with fixed bucket bounds in seconds.
    struct Histogram {
        static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
        var counts = [Int](repeating: 0, count: bounds.count)
        var count = 0
        var sum = 0.0

        mutating func observe(_ seconds: Double) {
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound { counts[index] += 1 }
            count += 1
            sum += seconds
        }
    }

    private var requests: [String: Int] = [:]  // key: endpoint|status
    private var durations: [String: Histogram] = [:]
    private var firstToken = Histogram()
    private var generatedTokens = 0
    private var promptTokensComputed = 0
    private var promptTokensCached = 0
    private var replayedTokens = 0
    private var prefillSeconds = 0.0
    private var decodeSeconds = 0.0
    private var constraintSeconds = 0.0
    private var active = 0
    private var cancelled = 0

    public init() {}

    func requestStarted() { active += 1 }
    func requestEnded() { active -= 1 }

    func recordRequest(endpoint: String, status: Int, duration: Duration) {
        requests["\(endpoint)|\(status)", default: 0] += 1
        durations[endpoint, default: Histogram()].observe(duration.seconds)
    }

    /// A generation stopped because its client went away.
    func recordCancelled() { cancelled += 1 }

    func recordFirstToken(after duration: Duration) { firstToken.observe(duration.seconds) }

    func recordGeneration(_ result: GenerationResult) {
        generatedTokens += result.tokens.count
        promptTokensComputed += result.prefillTokensComputed
        promptTokensCached += result.promptTokens - result.prefillTokensComputed
        replayedTokens += result.replayedTokens
        prefillSeconds += result.prefillDuration.seconds
        decodeSeconds += result.decodeDuration.seconds
        constraintSeconds += result.constraintDuration.seconds
    }

    /// The text of `/metrics`, with the session store's and the pipeline's state read now.
    func render(store: SessionStore.Statistics, stages: [StageHealth], stageLatencies: [StageLatency]) -> String {
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { text += "\(name)\(labels) \(Self.format(value))\n" }
        }
        metric("phi_requests_total", "counter", "HTTP requests by endpoint and status.",
               requests.sorted { $0.key < $1.key }.map { key, count in
                   let parts = key.split(separator: "|")
                   return ("{endpoint=\"\(parts[0])\",status=\"\(parts.count > 1 ? parts[1] : "")\"}", Double(count))
               })
        text += histogram("phi_request_duration_seconds", "Time from request to the end of its response.",
                          durations.sorted { $0.key < $1.key }.map { ("endpoint=\"\($0.key)\"", $0.value) })
        text += histogram("phi_time_to_first_token_seconds", "Time from request to its first generated token.", [("", firstToken)])
        metric("phi_generated_tokens_total", "counter", "Tokens generated.", [("", Double(generatedTokens))])
        metric("phi_prompt_tokens_total", "counter", "Prompt tokens, computed through the pipeline or reused from a session's cache.",
               [("{source=\"computed\"}", Double(promptTokensComputed)), ("{source=\"cached\"}", Double(promptTokensCached))])
        metric("phi_replayed_tokens_total", "counter", "Tokens run again when a session switched to the long LongRoPE factors.",
               [("", Double(replayedTokens))])
        metric("phi_prefill_seconds_total", "counter", "Time spent computing prompts.", [("", prefillSeconds)])
        metric("phi_decode_seconds_total", "counter", "Time spent generating tokens.", [("", decodeSeconds)])
        metric("phi_constraint_seconds_total", "counter", "Time spent computing constrained-decoding masks.", [("", constraintSeconds)])
        metric("phi_requests_cancelled_total", "counter", "Generations stopped because the client disconnected.",
               [("", Double(cancelled))])
        metric("phi_requests_active", "gauge", "Requests being generated.", [("", Double(active))])
        metric("phi_requests_queued", "gauge", "Requests waiting for a free session.", [("", Double(store.waiting))])
        metric("phi_sessions_open", "gauge", "Pipeline sessions open.", [("", Double(store.open))])
        metric("phi_sessions_in_use", "gauge", "Pipeline sessions serving a request.", [("", Double(store.inUse))])
        metric("phi_session_cached_tokens", "gauge", "Tokens held in the sessions' caches.", [("", Double(store.cachedTokens))])
        metric("phi_session_evictions_total", "counter", "Idle sessions closed to make room.", [("", Double(store.evictions))])
        metric("phi_stage_up", "gauge", "1 when a pipeline stage is ready.", stages.map { stage in
            ("{stage=\"\(stage.name)\",layers=\"\(LayerRangeText.format(stage.layers))\"}", stage.state == .ready ? 1 : 0)
        })
        metric("phi_stage_state_changes_total", "counter", "Times a stage's worker went down or was (re)linked into the ring.",
               stages.map { ("{stage=\"\($0.name)\"}", Double($0.stateChanges)) })
        if !stageLatencies.isEmpty {
            metric("phi_stage_passes_total", "counter", "Passes each stage has run.",
                   stageLatencies.map { ("{stage=\"\($0.name)\"}", Double($0.passes)) })
            metric("phi_stage_seconds_total", "counter", "Time each stage has spent on passes.",
                   stageLatencies.map { ("{stage=\"\($0.name)\"}", $0.total.seconds) })
        }
        return text
    }

    private func histogram(_ name: String, _ help: String, _ series: [(String, Histogram)]) -> String {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (labels, histogram) in series {
            let prefix = labels.isEmpty ? "" : labels + ","
            for (index, bound) in Histogram.bounds.enumerated() {
                text += "\(name)_bucket{\(prefix)le=\"\(Self.format(bound))\"} \(histogram.counts[index])\n"
            }
            text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(histogram.count)\n"
            let braces = labels.isEmpty ? "" : "{\(labels)}"
            text += "\(name)_sum\(braces) \(Self.format(histogram.sum))\n\(name)_count\(braces) \(histogram.count)\n"
        }
        return text
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
