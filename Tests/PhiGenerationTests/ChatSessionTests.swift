import Foundation
import PhiGeneration
import PhiTestSupport
import PhiTokenizer
import Testing

@Suite("Chat sessions and the session store")
struct ChatSessionTests {
    @Test("the second turn computes only its new tokens")
    func secondTurnReusesPrefix() async throws {
        let engine = try TinyEngine.make()
        let loop = FunctionCallingLoop(engine: engine, toolbox: try Toolbox([]), parameters: .init(temperature: 0.7, seed: 9, maxTokens: 12))
        var chat = ChatSession(loop: loop, systemPrompt: "Be brief.")
        let events = EventLog()
        _ = try await chat.send("Hello there") { events.add($0) }
        let firstTurnTokens = try engine.chatPrompt(chat.messages, tools: []).count
        _ = try await chat.send("And again?") { events.add($0) }
        let secondPrompt = try engine.chatPrompt(Array(chat.messages.dropLast()), tools: [])
        let rounds = events.all.compactMap { event -> (Int, Int, Int)? in
            if case let .roundFinished(cached, computed, generated) = event { (cached, computed, generated) } else { nil }
        }
        try #require(rounds.count == 2)
        #expect(rounds[0].0 == 0)
        #expect(rounds[1].0 + rounds[1].1 == secondPrompt.count)
        // Everything of the first turn that the second prompt repeats came from the cache.
        #expect(rounds[1].0 >= firstTurnTokens - 8, "cached \(rounds[1].0) of a first turn of \(firstTurnTokens) tokens")
        #expect(rounds[1].1 < secondPrompt.count / 2)
    }

    @Test("at the session limit the least recently used idle session is reused; one in use never")
    func storeReusesIdleLRU() async throws {
        let store = try TinyEngine.make(maxSessions: 2, maxCachedTokens: 1000).store
        let a = try await store.acquire(prompt: Array(1...10))
        let b = try await store.acquire(prompt: Array(100...110))
        #expect(a.session != b.session)
        await store.release(a, cachedTokens: Array(1...10))
        await store.release(b, cachedTokens: Array(100...110))
        // A prompt extending a's tokens gets a's session back, with the shared prefix.
        let again = try await store.acquire(prompt: Array(1...15))
        #expect(again.session == a.session)
        #expect(again.sharedPrefix == 10)
        // An unrelated prompt at the session limit takes the idle b.
        let third = try await store.acquire(prompt: Array(200...220))
        #expect(third.session == b.session)
        #expect(third.sharedPrefix == 0)
        // Both are in use: a further request waits until one is released.
        let waiter = Task { try await store.acquire(prompt: [5, 6, 7]) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(await store.statistics.waiting == 1)
        await store.release(again, cachedTokens: Array(1...15))
        let served = try await waiter.value
        #expect(served.session == a.session)
        #expect(await store.statistics.inUse == 2)
    }

    @Test("past the cached-token bound idle sessions are closed, least recently used first")
    func storeEvictsByTokens() async throws {
        let store = try TinyEngine.make(maxSessions: 8, maxCachedTokens: 40).store
        let a = try await store.acquire(prompt: Array(1...15))
        let b = try await store.acquire(prompt: Array(100...115))
        let busy = try await store.acquire(prompt: Array(500...505))
        await store.release(a, cachedTokens: Array(1...15))
        await store.release(b, cachedTokens: Array(100...115))
        // 15 + 16 cached, 6 in use (not yet recorded) + 20 new > 40: the older idle one goes.
        let c = try await store.acquire(prompt: Array(300...319))
        let statistics = await store.statistics
        #expect(statistics.evictions == 1)
        #expect(statistics.open == 3)
        let reuse = try await store.acquire(prompt: Array(100...120))
        #expect(reuse.session == b.session, "the more recently used idle session survives")
        #expect(c.session != a.session && busy.session != a.session)
    }

    @Test("stop strings cut streamed text, never sending part of one")
    func stopStrings() {
        var filter = StopSequenceFilter(stops: ["END", "\n\n"])
        var sent = ""
        for piece in ["Hel", "lo E", "N", "D and more"] { sent += filter.feed(piece) }
        sent += filter.finish()
        #expect(sent == "Hello ")
        #expect(filter.isStopped)
        var open = StopSequenceFilter(stops: ["END"])
        var text = open.feed("It is EN")
        #expect(text == "It is ")
        text += open.feed("ough")
        text += open.finish()
        #expect(text == "It is ENough")
    }

    @Test("a prompt longer than the context is refused naming both numbers")
    func promptTooLong() async throws {
        let engine = try TinyEngine.make(context: 16)
        let error = await #expect(throws: EngineError.self) {
            _ = try await engine.generate(prompt: Array(1...20), parameters: .greedy(maxTokens: 4)) { _ in true }
        }
        #expect(error == .promptTooLong(promptTokens: 20, contextTokens: 16))
        #expect(error?.description.contains("20") == true && error?.description.contains("16") == true)
    }
}
