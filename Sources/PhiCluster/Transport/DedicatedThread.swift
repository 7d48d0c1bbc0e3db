import Foundation
import Synchronization

/// Runs blocking C calls (`nng_dial`, `nng_close`) on a thread of their own, so that no thread of
/// Swift's cooperative pool waits on the network.
enum DedicatedThread {
    /// The result of `body`, run on a new thread.
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    /// The result of `body` run on a new thread, or nil when it takes longer than `timeout`; the
    /// thread then runs on until `body` returns (the caller makes it return, e.g. by closing the socket).
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T, timeout: Duration) async -> T? {
        let once = ResumeOnce<T?>()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            once.resume(returning: nil)
        }
        let result = await withCheckedContinuation { continuation in
            once.arm(continuation)
            Thread { once.resume(returning: body()) }.start()
        }
        timer.cancel()
        return result
    }
}

/// A continuation resumed by whichever of several racers comes first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private enum Phase {
        case waiting
        case armed(CheckedContinuation<T, Never>)
        case resolved(T)  // a racer finished before arm()
        case finished
    }

    private let phase = Mutex<Phase>(.waiting)

    func arm(_ continuation: CheckedContinuation<T, Never>) {
        let early: T? = phase.withLock { phase in
            if case let .resolved(value) = phase {
                phase = .finished
                return value
            }
            phase = .armed(continuation)
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func resume(returning value: T) {
        let continuation: CheckedContinuation<T, Never>? = phase.withLock { phase in
            switch phase {
            case .waiting:
                phase = .resolved(value)
                return nil
            case let .armed(continuation):
                phase = .finished
                return continuation
            case .resolved, .finished:
                return nil
            }
        }
        continuation?.resume(returning: value)
    }
}
