import PhiGeneration

/// Greedy generations of `maxTokens` tokens after each of `prompts` (name → ids), all at once over
/// `pipeline`, each in its own session and task: what concurrent requests do to a pipeline.
/// Returns each prompt's tokens by name.
public func concurrentGreedy(_ pipeline: any Pipeline, prompts: [(name: String, ids: [Int])],
                             maxTokens: Int) async throws -> [String: [Int]] {
    let generator = Generator(pipeline: pipeline)
    return try await withThrowingTaskGroup(of: (String, [Int]).self) { group in
        for (index, prompt) in prompts.enumerated() {
            group.addTask {
                let session = SessionID(UInt64(index + 1))
                try await pipeline.openSession(session, contextTokens: prompt.ids.count + maxTokens)
                let result = try await generator.generate(session: session, prompt: prompt.ids,
                                                          parameters: .greedy(maxTokens: maxTokens, ignoreEOS: true))
                return (prompt.name, result.tokens)
            }
        }
        return try await group.reduce(into: [String: [Int]]()) { $0[$1.0] = $1.1 }
    }
}
