import CPhiKernels
import Foundation

/// Pins this process to a set of CPUs (phi-worker's `--cpus`), so a benchmark can give each
/// worker one core of its own.
public enum CPUAffinity {
    /// Restricts every thread of this process to `cpus`. Threads started later inherit the
    /// affinity of the thread that starts them, which is then one of these. Throws naming the
    /// CPU list and the system's reason when the system refuses (a CPU it does not have).
    public static func pinProcess(to cpus: [Int]) throws {
        guard !cpus.isEmpty else { throw CPUAffinityError.refused(cpus: cpus, reason: "no CPUs given") }
        let ids = cpus.map { Int32(clamping: $0) }
        // /proc/self/task lists every thread; threads started meanwhile come from a pinned one
        // or are caught by a second pass.
        for _ in 0..<2 {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? ["0"]
            for task in tasks {
                guard let tid = Int32(task) else { continue }
                let status = ids.withUnsafeBufferPointer { phi_set_thread_affinity(tid, $0.baseAddress, Int32($0.count)) }
                // A thread that ended between the listing and the call (ESRCH) needs nothing.
                if status != 0 && status != ESRCH {
                    throw CPUAffinityError.refused(cpus: cpus, reason: String(cString: strerror(status)))
                }
            }
        }
    }

    /// Parses "0", "0,1" or "0-3" (inclusive ranges, as taskset writes them).
    public static func parse(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            switch bounds.count {
            case 1:
                guard let cpu = bounds[0], cpu >= 0 else { return nil }
                cpus.append(cpu)
            case 2:
                guard let low = bounds[0], let high = bounds[1], low >= 0, low <= high else { return nil }
                cpus += Array(low...high)
            default:
                return nil
            }
        }
        return cpus.isEmpty ? nil : cpus
    }
}

public enum CPUAffinityError: Error, Equatable, CustomStringConvertible {
    case refused(cpus: [Int], reason: String)

    public var description: String {
        switch self {
        case let .refused(cpus, reason): "cannot pin to CPUs \(cpus.map(String.init).joined(separator: ",")): \(reason)"
        }
    }
}
