import CPhiKernels
import Foundation

/// The machine's streaming read bandwidth: how fast `threads` threads read a buffer far larger
/// than the caches. Decode streams every weight once per token, so this bounds decode speed.
public enum BandwidthProbe {
    /// 1 GiB: 32× the largest L3 of the machines we run on, so reads come from DRAM.
    public static let defaultBufferBytes = 1 << 30

    /// Best of `rounds` timed reads of a `bufferBytes` buffer split over a pool of `threads`
    /// threads, in bytes per second. The buffer is written once first so its pages are resident;
    /// it lives in huge pages as the weights do (`HugePageBuffer`), so the ceiling it gives is
    /// the one decode can reach.
    public static func measure(threads: Int, bufferBytes: Int = defaultBufferBytes, rounds: Int = 5) -> Double {
        let pool = ThreadPool(threads: threads)
        let storage = HugePageBuffer(byteCount: bufferBytes)
        defer { withExtendedLifetime(storage) {} }  // `buffer` points into it until the end
        let buffer = storage.pointer
        // Pieces small enough that a thread finishing early takes more, large enough that the
        // pool's hand-off is nothing next to reading one (8 MiB at ~20 GB/s is ~0.4 ms).
        let pieceBytes = 8 << 20
        let pieces = bufferBytes / pieceBytes
        pool.parallelFor(pieces) { piece in
            memset(buffer + piece * pieceBytes, 1, pieceBytes)
        }
        let sums = UnsafeMutablePointer<UInt64>.allocate(capacity: pieces)
        defer { sums.deallocate() }
        var best = 0.0
        for _ in 0..<max(1, rounds) {
            let start = ContinuousClock.now
            pool.parallelFor(pieces) { piece in
                sums[piece] = phi_stream_read(buffer + piece * pieceBytes, pieceBytes)
            }
            let elapsed = (ContinuousClock.now - start).seconds
            best = max(best, Double(pieces * pieceBytes) / elapsed)
        }
        return best
    }
}

extension Duration {
    /// The duration in seconds, as a Double for arithmetic.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
