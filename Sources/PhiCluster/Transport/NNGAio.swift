import CNNG
import Synchronization

/// One nng asynchronous I/O handle whose completions resume Swift continuations, so that waiting
/// for the network never blocks a thread of the cooperative pool: nng's own threads call back,
/// and the callback only resumes the waiting task.
///
/// `@unchecked Sendable`: the handle is created once and freed in `deinit`; nng's aio functions
/// are thread-safe, and the owner runs one operation at a time (send, then receive), so the only
/// concurrent call is `nng_aio_cancel` from a cancellation handler, which nng allows.
final class NNGAio: @unchecked Sendable {
    let handle: OpaquePointer
    private let completion: Unmanaged<Completion>

    /// The continuation of the operation in flight, resumed by nng's callback.
    private final class Completion: Sendable {
        let pending = Mutex<CheckedContinuation<Void, Never>?>(nil)

        func fire() {
            let continuation = pending.withLock { pending in
                defer { pending = nil }
                return pending
            }
            continuation?.resume()
        }
    }

    init() throws(TransportError) {
        let completion = Unmanaged.passRetained(Completion())
        var handle: OpaquePointer?
        let status = nng_aio_alloc(&handle, { argument in
            guard let argument else { return }
            Unmanaged<Completion>.fromOpaque(argument).takeUnretainedValue().fire()
        }, completion.toOpaque())
        guard status == 0, let handle else {
            completion.release()
            throw .socketFailed(operation: "nng_aio_alloc", reason: NNG.errorText(status))
        }
        self.handle = handle
        self.completion = completion
    }

    deinit {
        nng_aio_free(handle)  // stops the aio and waits for a running callback: only then is Completion unused
        completion.release()
    }

    /// Starts an operation with `start` (e.g. `nng_ctx_recv(ctx, $0)`) and waits for it; returns
    /// nng's result code (0 on success). `timeout` nil waits forever. Task cancellation cancels it.
    func run(timeout: Duration?, _ start: (OpaquePointer) -> Void) async -> Int32 {
        if Task.isCancelled { return Int32(NNG_ECANCELED.rawValue) }
        nng_aio_set_timeout(handle, timeout.map(NNG.milliseconds) ?? NNG_DURATION_INFINITE)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                completion.takeUnretainedValue().pending.withLock { $0 = continuation }
                start(handle)
            }
        } onCancel: {
            nng_aio_cancel(self.handle)
        }
        return nng_aio_result(handle)
    }
}
